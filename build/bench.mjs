// `npm run bench`: single-file throughput and memory, coffer beside age and cp in the same run.
// Usage: npm run bench -- [--size 1G] [--runs 3] [--big 8G|0] [--dir DIR] [--no-vault] [--no-webdav] [--no-write]
// Writes the medians into docs/BENCHMARKS.md (between the bench:file markers) and prints them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { makeRandomFile, measure, median, option, parseSize, writeSection } from './bench-util.mjs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => option(args, name, dflt);
const size = parseSize(opt('size', '1G'));
const big = parseSize(opt('big', '8G'));
const runs = Number(opt('runs', '3'));
const workDir = mkdtempSync(path.join(opt('dir', os.tmpdir()), 'coffer-bench-'));
const cli = path.join(root, 'dist/main/cli.js');
const fmtSize = (n) => (n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(n % 1024 ** 3 ? 1 : 0)} GiB` : `${(n / 1024 ** 2).toFixed(0)} MiB`);

for (const [cmd, pkg] of [['age', 'age'], ['/usr/bin/time', 'time']]) {
  if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) {
    console.error(`bench: ${cmd} is missing; install it: sudo apt-get install -y ${pkg}`);
    process.exit(1);
  }
}
if (!existsSync(cli)) spawnSync(process.execPath, [path.join(root, 'build/build.mjs'), '--only=cli'], { stdio: 'inherit' });

const makeFile = makeRandomFile;

function tools(dir, input) {
  const ageKey = path.join(dir, 'age.key');
  const cofferKey = path.join(dir, 'coffer.key');
  if (!existsSync(ageKey)) spawnSync('age-keygen', ['-o', ageKey], { stdio: 'ignore' });
  if (!existsSync(cofferKey)) spawnSync(process.execPath, [cli, 'keygen', '-o', cofferKey], { stdio: 'ignore' });
  const ageRecipient = readFileSync(ageKey, 'utf8').match(/public key: (\S+)/)[1];
  const cofferRecipient = readFileSync(cofferKey, 'utf8').match(/public key: (\S+)/)[1];
  const q = (s) => `'${s}'`;
  const ct = (t) => path.join(dir, `${t}.enc`);
  const pt = (t) => path.join(dir, `${t}.dec`);
  return {
    coffer: {
      enc: `${q(process.execPath)} ${q(cli)} encrypt -r ${cofferRecipient} -o ${q(ct('coffer'))} --force ${q(input)}`,
      dec: `${q(process.execPath)} ${q(cli)} decrypt -i ${q(cofferKey)} -o ${q(pt('coffer'))} --force ${q(ct('coffer'))}`,
    },
    age: {
      enc: `age -r ${ageRecipient} -o ${q(ct('age'))} ${q(input)}`,
      dec: `age -d -i ${q(ageKey)} -o ${q(pt('age'))} ${q(ct('age'))}`,
    },
    cp: {
      enc: `cp ${q(input)} ${q(ct('cp'))}`,
      dec: `cp ${q(ct('cp'))} ${q(pt('cp'))}`,
    },
    cleanup: () => { for (const t of ['coffer', 'age', 'cp']) { rmSync(ct(t), { force: true }); rmSync(pt(t), { force: true }); } },
  };
}

async function main() {
  const input = path.join(workDir, 'input.bin');
  console.log(`bench: ${fmtSize(size)} random file in ${workDir}, ${runs} runs each, tools alternating`);
  await makeFile(input, size);
  const t = tools(workDir, input);
  const results = { coffer: { enc: [], dec: [] }, age: { enc: [], dec: [] }, cp: { enc: [], dec: [] } };
  for (let r = 0; r < runs; r++) {
    const order = ['coffer', 'age', 'cp'];
    if (r % 2) order.reverse();
    for (const name of order) {
      for (const dir of ['enc', 'dec']) {
        const m = measure(t[name][dir]);
        results[name][dir].push(m);
        console.log(`run ${r + 1} ${name.padEnd(6)} ${dir}: ${m.wall.toFixed(2)} s, ${(size / 2 ** 20 / m.wall).toFixed(0)} MiB/s, peak RSS ${m.rss.toFixed(1)} MiB`);
      }
    }
    if (r === 0) {
      const same = spawnSync('cmp', [input, path.join(workDir, 'coffer.dec')]).status === 0;
      if (!same) throw new Error('coffer round trip differs from input');
    }
  }
  const med = (name, dir, key) => median(results[name][dir].map((m) => m[key]));
  let bigRow = null;
  if (big > 0) {
    t.cleanup();
    rmSync(input);
    const bigInput = path.join(workDir, 'big.bin');
    console.log(`bench: ${fmtSize(big)} file for the constant-memory check (coffer, one run)`);
    await makeFile(bigInput, big);
    const tb = tools(workDir, bigInput);
    const e = measure(tb.coffer.enc);
    const d = measure(tb.coffer.dec);
    bigRow = { e, d };
    console.log(`${fmtSize(big)} coffer enc: ${e.wall.toFixed(1)} s, RSS ${e.rss.toFixed(1)} MiB; dec: ${d.wall.toFixed(1)} s, RSS ${d.rss.toFixed(1)} MiB`);
    tb.cleanup();
    rmSync(bigInput);
  }
  rmSync(workDir, { recursive: true, force: true });

  const cpu = (os.cpus()[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ');
  const row = (name, dir) => `| ${name} | ${dir === 'enc' ? 'encrypt' : 'decrypt'} | ${med(name, dir, 'wall').toFixed(2)} s | ${(size / 2 ** 20 / med(name, dir, 'wall')).toFixed(0)} MiB/s | ${med(name, dir, 'rss').toFixed(1)} MiB |`;
  const ratio = (dir) => (med('coffer', dir, 'wall') / med('age', dir, 'wall')).toFixed(2);
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} × ${cpu}, Node ${process.version}, ${runs} alternating runs, medians; ${fmtSize(size)} random file (page cache warm: this measures CPU work, not the disk).`,
    '',
    '| tool | direction | wall (median) | throughput | peak RSS (median) |',
    '|---|---|---|---|---|',
    row('coffer', 'enc'), row('age', 'enc'), row('cp', 'enc'),
    row('coffer', 'dec'), row('age', 'dec'), row('cp', 'dec'),
    '',
    `coffer / age wall time: encrypt ${ratio('enc')}×, decrypt ${ratio('dec')}× (target ≤ 0.9×).`,
  ];
  if (bigRow) {
    lines.push('', `Constant memory: the same commands on a ${fmtSize(big)} file peaked at ${bigRow.e.rss.toFixed(1)} MiB (encrypt, ${bigRow.e.wall.toFixed(1)} s) and ${bigRow.d.rss.toFixed(1)} MiB (decrypt, ${bigRow.d.wall.toFixed(1)} s), against ${med('coffer', 'enc', 'rss').toFixed(1)} / ${med('coffer', 'dec', 'rss').toFixed(1)} MiB for ${fmtSize(size)} (target ≤ 96 MiB, independent of size).`);
  }
  const block = lines.join('\n');
  console.log(`\n${block}\n`);
  if (!args.includes('--no-write')) {
    const doc = path.join(root, 'docs/BENCHMARKS.md');
    writeSection(doc, 'file', 'Single files: coffer vs age vs cp', block);
    console.log(`bench: wrote ${path.relative(root, doc)}`);
  }
  if (!args.includes('--no-webdav') && existsSync(path.join(root, 'build/bench-webdav.mjs'))) {
    const r = spawnSync(process.execPath, [path.join(root, 'build/bench-webdav.mjs'), ...args], { stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  if (!args.includes('--no-vault') && existsSync(path.join(root, 'build/bench-vault.mjs'))) {
    const r = spawnSync(process.execPath, [path.join(root, 'build/bench-vault.mjs'), ...args], { stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}

main().catch((e) => { console.error(`bench: ${e.message}`); rmSync(workDir, { recursive: true, force: true }); process.exit(1); });
