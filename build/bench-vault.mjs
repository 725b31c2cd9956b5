// Vault benchmarks (issue 3, part 9), called by `npm run bench` (build/bench.mjs) with the same arguments,
// or alone: node build/bench-vault.mjs [--files 10000] [--size 1G] [--runs 1] [--dir DIR] [--no-write]
// Measures through the built CLI (dist/main/cli.js), beside `cp -r` and single-file `coffer encrypt`:
//   add of N files of 4 KiB in 100 folders, ls -R of N entries, rotate, verify, revoke --reencrypt,
//   and add of one SIZE file. Writes a table into docs/BENCHMARKS.md between the bench:vault markers.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { makeRandomFile, measure as measureCmd, median, option, parseSize, writeSection } from './bench-util.mjs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => option(args, name, dflt);
const N = Number(opt('files', '10000'));
const bigSize = parseSize(opt('size', '1G'));
const runs = Math.max(1, Number(opt('vault-runs', '1')));
const work = mkdtempSync(path.join(opt('dir', os.tmpdir()), 'coffer-bench-vault-'));
const cli = path.join(root, 'dist/main/cli.js');
if (!existsSync(cli)) spawnSync(process.execPath, [path.join(root, 'build/build.mjs'), '--only=main'], { stdio: 'inherit' });

const env = { ...process.env, COFFER_STATE_DIR: path.join(work, 'state'), COFFER_PASSPHRASE: 'bench passphrase' };
const q = (s) => `'${s}'`;
const coffer = (a) => `${q(process.execPath)} ${q(cli)} ${a}`;

const measure = (cmd) => measureCmd(cmd, env);
function best(cmd, setup) {
  const rs = [];
  for (let i = 0; i < runs; i++) {
    setup?.();
    rs.push(measure(cmd));
  }
  return { wall: median(rs.map((r) => r.wall)), rss: Math.max(...rs.map((r) => r.rss)), out: rs[rs.length - 1].out };
}

const makeBig = makeRandomFile;

async function main() {
  console.log(`bench-vault: ${N} files of 4 KiB and one ${(bigSize / 1024 ** 2).toFixed(0)} MiB file in ${work}`);
  const tree = path.join(work, 'tree');
  const dirs = Math.max(1, Math.round(N / 100));
  for (let d = 0; d < dirs; d++) {
    mkdirSync(path.join(tree, `d${d}`), { recursive: true });
    for (let f = 0; f < Math.ceil(N / dirs) && d * Math.ceil(N / dirs) + f < N; f++) writeFileSync(path.join(tree, `d${d}`, `f${f}.bin`), randomBytes(4096));
  }
  spawnSync('sync');
  const vault = path.join(work, 'vault');
  const rows = [];
  const row = (what, r, note = '') => {
    rows.push({ what, wall: r.wall, rss: r.rss, note });
    console.log(`  ${what.padEnd(44)} ${r.wall.toFixed(2).padStart(8)} s  ${r.rss.toFixed(0).padStart(5)} MiB  ${note}`);
  };

  const cp = best(`cp -r ${q(tree)} ${q(path.join(work, 'cp-copy'))}`, () => rmSync(path.join(work, 'cp-copy'), { recursive: true, force: true }));
  row(`cp -r (${N} files of 4 KiB)`, cp);
  const cpSync = best(`cp -r ${q(tree)} ${q(path.join(work, 'cp-copy'))} && sync`, () => rmSync(path.join(work, 'cp-copy'), { recursive: true, force: true }));
  row(`cp -r + sync`, cpSync);
  const add = best(coffer(`vault add ${q(vault)} ${q(tree)}`), () => {
    rmSync(vault, { recursive: true, force: true });
    rmSync(env.COFFER_STATE_DIR, { recursive: true, force: true });
    const r = spawnSync(process.execPath, [cli, 'vault', 'init', vault, '-p', '--kdf-params', '1:8'], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    const k = spawnSync(process.execPath, [cli, 'keygen', '-o', path.join(work, `m${Math.random()}.key`)], { env, encoding: 'utf8' });
    const g = spawnSync(process.execPath, [cli, 'vault', 'grant', vault, k.stdout.trim(), '--label', 'bench member'], { env, encoding: 'utf8' });
    if (g.status !== 0) throw new Error(g.stderr);
  });
  row(`vault add (${N} files, durable)`, add, `${(add.wall / cp.wall).toFixed(1)}× cp -r, ${(add.wall / cpSync.wall).toFixed(1)}× cp -r + sync`);
  const ls = best(coffer(`vault ls ${q(vault)} -R`));
  const listed = ls.out.split('\n').filter(Boolean).length;
  row(`vault ls -R (${listed} entries)`, ls);
  const rotate = best(coffer(`vault rotate ${q(vault)}`));
  row(`vault rotate (${listed} records)`, rotate);
  const verify = best(coffer(`vault verify ${q(vault)}`));
  row(`vault verify (${listed} records, all blobs decrypted)`, verify);
  const members = JSON.parse(spawnSync(process.execPath, [cli, 'vault', 'members', vault, '--json'], { env, encoding: 'utf8' }).stdout);
  const victim = members.slots.find((s) => s.label === 'bench member');
  const reenc = measure(coffer(`vault revoke ${q(vault)} ${victim.id} --reencrypt`));
  row(`vault revoke --reencrypt (${N} files)`, reenc, `rotate is ${(reenc.wall / rotate.wall).toFixed(1)}× faster`);

  const big = path.join(work, 'big.bin');
  await makeBig(big, bigSize);
  spawnSync('sync');
  const key = path.join(work, 'bench.key');
  const rec = spawnSync(process.execPath, [cli, 'keygen', '-o', key], { encoding: 'utf8' }).stdout.trim();
  const enc = best(coffer(`encrypt -r ${rec} -o ${q(path.join(work, 'big.coffer'))} --force ${q(big)}`));
  row(`coffer encrypt (one ${(bigSize / 1024 ** 2).toFixed(0)} MiB file)`, enc, `${(bigSize / 1024 ** 2 / enc.wall).toFixed(0)} MiB/s`);
  const encSync = best(`${coffer(`encrypt -r ${rec} -o ${q(path.join(work, 'big.coffer'))} --force ${q(big)}`)} && sync`);
  row(`coffer encrypt + sync (one ${(bigSize / 1024 ** 2).toFixed(0)} MiB file)`, encSync);
  const addBig = best(coffer(`vault add ${q(vault)} ${q(big)} --to big`), () => spawnSync(process.execPath, [cli, 'vault', 'rm', vault, 'big', '-r'], { env }));
  row(`vault add (one ${(bigSize / 1024 ** 2).toFixed(0)} MiB file)`, addBig, `${(bigSize / 1024 ** 2 / addBig.wall).toFixed(0)} MiB/s, ${(addBig.wall / enc.wall).toFixed(2)}× encrypt, ${(addBig.wall / encSync.wall).toFixed(2)}× encrypt + sync`);
  rmSync(path.join(work, 'big.coffer'), { force: true });

  // Rotation does not depend on content size; re-encryption does: the same pair on a vault holding the big file.
  const bigVault = path.join(work, 'bigvault');
  spawnSync(process.execPath, [cli, 'vault', 'init', bigVault, '-p', '--kdf-params', '1:8', '-r', rec], { env });
  spawnSync(process.execPath, [cli, 'vault', 'add', bigVault, big], { env });
  rmSync(vault, { recursive: true, force: true });
  const rotBig = measure(coffer(`vault rotate ${q(bigVault)}`));
  row(`vault rotate (vault with the ${(bigSize / 1024 ** 2).toFixed(0)} MiB file)`, rotBig);
  const bigMembers = JSON.parse(spawnSync(process.execPath, [cli, 'vault', 'members', bigVault, '--json'], { env, encoding: 'utf8' }).stdout);
  const bigVictim = bigMembers.slots.find((s) => s.type === 'x25519');
  const reencBig = measure(coffer(`vault revoke ${q(bigVault)} ${bigVictim.id} --reencrypt`));
  row(`vault revoke --reencrypt (same vault)`, reencBig, `rotate is ${(reencBig.wall / rotBig.wall).toFixed(0)}× faster`);

  const cores = os.availableParallelism();
  const table = [
    `Vault figures (\`node build/bench-vault.mjs\`, ${new Date().toISOString().slice(0, 10)}, ${cores} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${runs} run${runs > 1 ? 's (median)' : ''}; every vault write is fsynced):`,
    '',
    '| operation | wall | peak RSS | note |',
    '|---|---:|---:|---|',
    ...rows.map((r) => `| ${r.what} | ${r.wall.toFixed(2)} s | ${r.rss.toFixed(0)} MiB | ${r.note} |`),
    '',
    `Targets (issue 3): add ≤ 3× \`cp -r\` → ${(add.wall / cp.wall).toFixed(1)}× (${(add.wall / cpSync.wall).toFixed(1)}× \`cp -r\` + \`sync\`); ls ≤ 1 s → ${ls.wall.toFixed(2)} s; rotate ≤ 5 s → ${rotate.wall.toFixed(2)} s, and ≥ 20× faster than re-encrypting → ${(reenc.wall / rotate.wall).toFixed(1)}× for ${N} files of 4 KiB (both are dominated by per-file writes there), ${(reencBig.wall / rotBig.wall).toFixed(0)}× for one ${(bigSize / 1024 ** 2).toFixed(0)} MiB file.`,
  ].join('\n');
  if (!args.includes('--no-write')) {
    const doc = path.join(root, 'docs/BENCHMARKS.md');
    writeSection(doc, 'vault', 'Vaults', table);
    console.log(`bench-vault: wrote ${path.relative(root, doc)}`);
  }
  console.log(table);
  rmSync(work, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(`bench-vault: ${e.message}`);
  rmSync(work, { recursive: true, force: true });
  process.exit(1);
});
