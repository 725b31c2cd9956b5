// Same-run comparison of two builds of the CLI: did a change make any vault or file operation slower?
// Usage: node build/bench-compare.mjs --old OLD/dist/main/cli.js --new NEW/dist/main/cli.js
//          [--files 10000] [--size 1G] [--rounds 2] [--dir DIR] [--write]
// Build the old commit in a separate worktree first (`node build/build.mjs --only=cli`). Each round runs the
// whole sequence once per build, alternating which build goes first, so both see the same machine:
//   vault init + grant (not timed), add N files of 4 KiB in 100 folders, ls -R with a member key, get the tree
//   back, rotate, verify, revoke --reencrypt, encrypt and decrypt one SIZE file.
// Prints medians and new/old ratios; `--write` puts the table in docs/BENCHMARKS.md (bench:compare section).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeRandomFile, measure, median, option, parseSize, writeSection } from './bench-util.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => option(args, name, dflt);
const builds = { old: path.resolve(opt('old', '')), new: path.resolve(opt('new', path.join(root, 'dist/main/cli.js'))) };
if (!opt('old', '')) {
  console.error('usage: node build/bench-compare.mjs --old OLD_CLI_JS [--new NEW_CLI_JS] [--files N] [--size S] [--rounds R] [--write]');
  process.exit(2);
}
const N = Number(opt('files', '10000'));
const size = parseSize(opt('size', '1G'));
const rounds = Math.max(1, Number(opt('rounds', '2')));
const work = mkdtempSync(path.join(opt('dir', os.tmpdir()), 'coffer-bench-compare-'));
const q = (s) => `'${s}'`;
const ops = ['add', 'ls', 'get', 'rotate', 'verify', 'reencrypt', 'encrypt', 'decrypt'];
const label = {
  add: `vault add (${N} × 4 KiB)`,
  ls: 'vault ls -R, member key',
  get: 'vault get of the tree',
  rotate: 'vault rotate',
  verify: 'vault verify',
  reencrypt: 'vault revoke --reencrypt',
  encrypt: `encrypt ${(size / 1024 ** 2).toFixed(0)} MiB`,
  decrypt: `decrypt ${(size / 1024 ** 2).toFixed(0)} MiB`,
};

function run(cli, env, argv) {
  const r = spawnSync(process.execPath, [cli, ...argv], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function sequence(name, results) {
  const cli = builds[name];
  const dir = path.join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const env = { ...process.env, COFFER_STATE_DIR: path.join(dir, 'state'), COFFER_PASSPHRASE: 'bench passphrase' };
  const vault = path.join(dir, 'vault');
  const key = path.join(dir, 'member.key');
  run(cli, env, ['vault', 'init', vault, '-p', '--kdf-params', '1:8']);
  const recipient = run(cli, env, ['keygen', '-o', key]).trim();
  run(cli, env, ['vault', 'grant', vault, recipient, '--label', 'bench member']);
  const coffer = (a) => `${q(process.execPath)} ${q(cli)} ${a}`;
  const t = (op, cmd) => {
    const r = measure(cmd, env);
    (results[name][op] ??= []).push(r);
    console.log(`  ${name.padEnd(3)} ${label[op].padEnd(28)} ${r.wall.toFixed(2).padStart(7)} s  CPU ${r.cpu.toFixed(2).padStart(6)} s  ${r.rss.toFixed(0).padStart(4)} MiB`);
  };
  t('add', coffer(`vault add ${q(vault)} ${q(path.join(work, 'tree'))}`));
  t('ls', coffer(`vault ls ${q(vault)} -R -i ${q(key)} > /dev/null`));
  t('get', coffer(`vault get ${q(vault)} /tree -o ${q(path.join(dir, 'out'))} -i ${q(key)}`));
  t('rotate', coffer(`vault rotate ${q(vault)}`));
  t('verify', coffer(`vault verify ${q(vault)}`));
  const members = JSON.parse(run(cli, env, ['vault', 'members', vault, '--json']));
  const victim = members.slots.find((s) => s.label === 'bench member');
  t('reencrypt', coffer(`vault revoke ${q(vault)} ${victim.id} --reencrypt`));
  const big = path.join(work, 'big.bin');
  t('encrypt', coffer(`encrypt -r ${recipient} -o ${q(path.join(dir, 'big.coffer'))} --force ${q(big)}`));
  t('decrypt', coffer(`decrypt -i ${q(key)} -o ${q(path.join(dir, 'big.out'))} --force ${q(path.join(dir, 'big.coffer'))}`));
  rmSync(dir, { recursive: true, force: true });
}

async function main() {
  const tree = path.join(work, 'tree');
  for (let d = 0; d < 100; d++) {
    mkdirSync(path.join(tree, `d${d}`), { recursive: true });
    for (let f = 0; f < Math.ceil(N / 100) && d * Math.ceil(N / 100) + f < N; f++) writeFileSync(path.join(tree, `d${d}`, `f${f}.bin`), randomBytes(4096));
  }
  await makeRandomFile(path.join(work, 'big.bin'), size);
  spawnSync('sync');
  const load = os.loadavg()[0].toFixed(1);
  const started = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const results = { old: {}, new: {} };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ['old', 'new'] : ['new', 'old'];
    for (const name of order) sequence(name, results);
  }
  const endLoad = os.loadavg()[0].toFixed(1);
  const med = (name, op, f) => median(results[name][op].map(f));
  const lines = [
    `Same-run comparison (\`node build/bench-compare.mjs\`), ${started} UTC, ${os.availableParallelism()} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, load ${load} at the start and ${endLoad} at the end; ${rounds} rounds alternating which build goes first, medians. old: \`${opt('old-name', 'old')}\`, new: \`${opt('new-name', 'new')}\`.`,
    '',
    '| operation | old wall | new wall | new / old (wall) | old CPU | new CPU | new / old (CPU) | old RSS | new RSS |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const op of ops) {
    const ow = med('old', op, (x) => x.wall), nw = med('new', op, (x) => x.wall);
    const oc = med('old', op, (x) => x.cpu), nc = med('new', op, (x) => x.cpu);
    const orss = med('old', op, (x) => x.rss), nrss = med('new', op, (x) => x.rss);
    lines.push(`| ${label[op]} | ${ow.toFixed(2)} s | ${nw.toFixed(2)} s | ${(nw / ow).toFixed(2)}× | ${oc.toFixed(2)} s | ${nc.toFixed(2)} s | ${(nc / oc).toFixed(2)}× | ${orss.toFixed(0)} MiB | ${nrss.toFixed(0)} MiB |`);
  }
  const table = lines.join('\n');
  console.log(table);
  if (args.includes('--write')) writeSection(path.join(root, 'docs/BENCHMARKS.md'), 'compare', 'Before and after: same-run comparison of two builds', table);
  rmSync(work, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(`bench-compare: ${e.message}`);
  rmSync(work, { recursive: true, force: true });
  process.exit(1);
});
