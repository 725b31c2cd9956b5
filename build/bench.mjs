// `npm run bench`: issue 12's goals, each measured beside its peers in the same run.
//
// Usage: npm run bench -- [--only ROW,ROW…] [--skip ROW,ROW…] [--runs N] [--dir DIR] [--no-write]
//   rows (default: all, in this order):
//     file    coffer encrypt/decrypt of one SIZE file (--size 1G) vs age, cp, and raw secretstream (build/bench-raw.mjs)
//     big     the same coffer commands on a --big 8G file: peak RSS must not grow with size
//     tree    --files 10000 × 4 KiB: add vs rclone crypt (local), restic and cp -r; get the tree back;
//             ls -R including unlock with a member key
//     rotate  rotate the tree vault (10,000 entries) vs `vault revoke --reencrypt`
//     scale   add --scale-files 100000 files (peak RSS), then open and list them all (time, peak RSS)
//     vault   the older per-operation vault table (build/bench-vault.mjs: verify, one large file, …)
//     webdav  coffer vault serve beside rclone serve webdav: GET/PUT of SIZE, PROPFIND of 10,000 entries
//             (build/bench-webdav.mjs)
//     versions the cost of keeping versions: time and bytes per replaced file, beside restic's second
//             snapshot (build/bench-versions.mjs; --versions-files N, --versions-size BYTES)
//     app     open a folder of --app-files 10000 entries in the file browser: first paint in Chromium
//             through the browser shell (`coffer ui`), median of --runs (build/bench-app.mjs)
//   e.g. `npm run bench -- --only file --size 256M --runs 5` re-runs one part; `--report` measures nothing
//   and rebuilds the tables from docs/bench-results.json.
// Every row writes its result to docs/bench-results.json; the goals table in docs/BENCHMARKS.md (between
// the bench:goals markers) is rebuilt from that file, so a row re-run alone keeps the others' figures.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeRandomFile, measure, median, option, parseSize, writeSection } from './bench-util.mjs';
import { rowApp } from './bench-app.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => option(args, name, dflt);
const ROWS = ['file', 'big', 'tree', 'rotate', 'scale', 'vault', 'webdav', 'versions', 'app'];
const list = (s) => (s ? String(s).split(',').map((x) => x.trim()).filter(Boolean) : []);
const only = list(opt('only', ''));
const skip = list(opt('skip', ''));
for (const r of [...only, ...skip]) if (!ROWS.includes(r)) { console.error(`bench: unknown row "${r}" (rows: ${ROWS.join(', ')})`); process.exit(2); }
if (args.includes('--no-vault')) skip.push('vault');
if (opt('big', '8G') === '0') skip.push('big');
// --report: measure nothing, rebuild the tables in docs/BENCHMARKS.md from docs/bench-results.json.
const selected = args.includes('--report') ? [] : ROWS.filter((r) => (only.length ? only.includes(r) : true) && !skip.includes(r));
const write = !args.includes('--no-write');
const size = parseSize(opt('size', '1G'));
const big = parseSize(opt('big', '8G'));
const runs = Math.max(1, Number(opt('runs', '3')));
const treeRuns = Math.max(1, Number(opt('tree-runs', '2')));
const N = Number(opt('files', '10000'));
const scaleN = Number(opt('scale-files', '100000'));
const appN = Number(opt('app-files', '10000'));
const work = mkdtempSync(path.join(opt('dir', os.tmpdir()), 'coffer-bench-'));
const cli = path.join(root, 'dist/main/cli.js');
const resultsFile = path.join(root, 'docs/bench-results.json');
const doc = path.join(root, 'docs/BENCHMARKS.md');

const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
const node = (file, a) => `${q(process.execPath)} ${q(file)} ${a}`;
const coffer = (a) => node(cli, a);
const fmtSize = (n) => (n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(n % 1024 ** 3 ? 1 : 0)} GiB` : `${(n / 1024 ** 2).toFixed(0)} MiB`);
const s2 = (x) => `${x.toFixed(2)} s`;
const mib = (x) => `${x.toFixed(0)} MiB`;
const env = {
  ...process.env,
  COFFER_STATE_DIR: path.join(work, 'coffer-state'),
  RCLONE_CONFIG: path.join(work, 'rclone.conf'),
  RESTIC_PASSWORD: 'bench restic password',
  RESTIC_CACHE_DIR: path.join(work, 'restic-cache'),
};

function need(cmd, pkg) {
  if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) {
    console.error(`bench: ${cmd} is missing; install it: sudo apt-get install -y ${pkg}`);
    process.exit(1);
  }
}
function sh(cmd, what = cmd) {
  const r = spawnSync('sh', ['-c', cmd], { env, encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`${what} failed:\n${(r.stderr || r.stdout).slice(-2000)}`);
  return r.stdout;
}
const run = (cmd) => measure(cmd, env);
function log(what, m, note = '') {
  console.log(`  ${what.padEnd(46)} ${m.wall.toFixed(2).padStart(7)} s  ${m.rss.toFixed(0).padStart(5)} MiB  cpu ${(m.cpu ?? 0).toFixed(2).padStart(6)} s  ${note}`);
}
/** Median wall and median peak RSS of several measurements. */
const med = (ms) => ({ wall: median(ms.map((m) => m.wall)), rss: median(ms.map((m) => m.rss)), cpu: median(ms.map((m) => m.cpu)), runs: ms.length });
const countFiles = (dir) => Number(sh(`find ${q(dir)} -type f | wc -l`).trim());

function conditions() {
  const cpu = (os.cpus()[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ');
  return { date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC', cpus: `${os.cpus().length} × ${cpu}`, node: process.version, load: os.loadavg()[0].toFixed(1) };
}

/* ---------- file: one large file ---------- */

function fileTools(dir, input, key) {
  const ct = (t) => path.join(dir, `${t}.enc`);
  const pt = (t) => path.join(dir, `${t}.dec`);
  return {
    coffer: {
      enc: coffer(`encrypt -r ${key.coffer} -o ${q(ct('coffer'))} --force ${q(input)}`),
      dec: coffer(`decrypt -i ${q(key.cofferFile)} -o ${q(pt('coffer'))} --force ${q(ct('coffer'))}`),
    },
    age: {
      enc: `age -r ${key.age} -o ${q(ct('age'))} ${q(input)}`,
      dec: `age -d -i ${q(key.ageFile)} -o ${q(pt('age'))} ${q(ct('age'))}`,
    },
    // age does not fsync its output; coffer -o does (temp file, fsync, rename). This peer shows the difference.
    'age+fsync': {
      enc: `age -r ${key.age} -o ${q(ct('age'))} ${q(input)} && sync ${q(ct('age'))}`,
      dec: `age -d -i ${q(key.ageFile)} -o ${q(pt('age'))} ${q(ct('age'))} && sync ${q(pt('age'))}`,
    },
    cp: { enc: `cp ${q(input)} ${q(ct('cp'))}`, dec: `cp ${q(ct('cp'))} ${q(pt('cp'))}` },
    raw: { enc: node(path.join(root, 'build/bench-raw.mjs'), `${size} seal`), dec: node(path.join(root, 'build/bench-raw.mjs'), `${size} open`) },
    cleanup: () => { for (const t of ['coffer', 'age', 'cp']) { rmSync(ct(t), { force: true }); rmSync(pt(t), { force: true }); } },
  };
}

function keys() {
  const ageFile = path.join(work, 'age.key');
  const cofferFile = path.join(work, 'coffer.key');
  if (!existsSync(ageFile)) sh(`age-keygen -o ${q(ageFile)} 2>/dev/null`);
  if (!existsSync(cofferFile)) sh(`${coffer(`keygen -o ${q(cofferFile)}`)} 2>/dev/null`);
  return {
    ageFile, cofferFile,
    age: readFileSync(ageFile, 'utf8').match(/public key: (\S+)/)[1],
    coffer: readFileSync(cofferFile, 'utf8').match(/public key: (\S+)/)[1],
  };
}

async function rowFile() {
  need('age', 'age');
  const input = path.join(work, 'input.bin');
  console.log(`\nfile: one ${fmtSize(size)} random file, ${runs} runs each, tools alternating (page cache warm)`);
  await makeRandomFile(input, size);
  const t = fileTools(work, input, keys());
  const names = ['coffer', 'age', 'age+fsync', 'cp', 'raw'];
  const res = Object.fromEntries(names.map((n) => [n, { enc: [], dec: [] }]));
  const rawIn = { enc: [], dec: [] };
  for (let r = 0; r < runs; r++) {
    const order = r % 2 ? [...names].reverse() : names;
    for (const name of order) {
      for (const dir of ['enc', 'dec']) {
        const m = run(t[name][dir]);
        res[name][dir].push(m);
        if (name === 'raw') rawIn[dir].push(JSON.parse(m.out)[dir === 'enc' ? 'seal' : 'open']);
        log(`run ${r + 1} ${name} ${dir}`, m, name === 'raw' ? `(crypto loop ${rawIn[dir].at(-1).toFixed(2)} s)` : `${(size / 2 ** 20 / m.wall).toFixed(0)} MiB/s`);
      }
    }
    if (r === 0 && spawnSync('cmp', [input, path.join(work, 'coffer.dec')]).status !== 0) throw new Error('coffer round trip differs from its input');
  }
  t.cleanup();
  rmSync(input, { force: true });
  const m = (name, dir) => med(res[name][dir]);
  const out = { ...conditions(), size, runs };
  for (const dir of ['enc', 'dec']) {
    out[dir] = Object.fromEntries(names.map((n) => [n, m(n, dir)]));
    out[dir].rawLoop = median(rawIn[dir]);
  }
  return out;
}

async function rowBig() {
  const input = path.join(work, 'big.bin');
  console.log(`\nbig: ${fmtSize(big)} file for the constant-memory check (coffer, one run)`);
  await makeRandomFile(input, big);
  const t = fileTools(work, input, keys());
  const e = run(t.coffer.enc);
  log('coffer encrypt', e);
  rmSync(input, { force: true });
  const d = run(t.coffer.dec);
  log('coffer decrypt', d);
  t.cleanup();
  return { ...conditions(), size: big, enc: e, dec: d };
}

/* ---------- tree: 10,000 small files vs rclone crypt, restic, cp -r ---------- */

function makeTree(dir, n, bytes) {
  const perDir = 100;
  for (let i = 0; i < n; i++) {
    const d = path.join(dir, `d${Math.floor(i / perDir)}`);
    if (i % perDir === 0) mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, `f${i % perDir}.bin`), randomBytes(bytes));
  }
  sh('sync');
}

/** A fresh coffer vault at `dir` whose only slots are the member key (and the recovery key). */
function newVault(dir, member) {
  rmSync(dir, { recursive: true, force: true });
  rmSync(env.COFFER_STATE_DIR, { recursive: true, force: true });
  sh(coffer(`vault init ${q(dir)} -r ${member.coffer} --name bench >/dev/null`), 'vault init');
}

function rcloneConfig(remoteDir) {
  const pw = sh('rclone obscure "bench rclone password"').trim();
  const salt = sh('rclone obscure "bench rclone salt"').trim();
  writeFileSync(env.RCLONE_CONFIG, `[secret]\ntype = crypt\nremote = ${remoteDir}\npassword = ${pw}\npassword2 = ${salt}\n`);
}

async function rowTree(state) {
  need('rclone', 'rclone');
  need('restic', 'restic');
  console.log(`\ntree: ${N} files of 4 KiB in ${Math.ceil(N / 100)} folders; coffer vs rclone crypt (local) vs restic vs cp -r, ${treeRuns} runs, alternating`);
  const tree = path.join(work, 'tree');
  if (!existsSync(tree)) makeTree(tree, N, 4096);
  const member = keys();
  const id = `-i ${q(member.cofferFile)}`;
  const vault = path.join(work, 'vault');
  const crypt = path.join(work, 'rclone-crypt');
  const repo = path.join(work, 'restic-repo');
  const out = (t) => path.join(work, `out-${t}`);
  const tools = {
    coffer: {
      setup: () => newVault(vault, member),
      add: coffer(`vault add ${q(vault)} ${q(tree)} ${id}`),
      ls: coffer(`vault ls ${q(vault)} -R ${id}`),
      get: coffer(`vault get ${q(vault)} tree -o ${q(out('coffer'))} ${id}`),
    },
    rclone: {
      setup: () => { rmSync(crypt, { recursive: true, force: true }); rcloneConfig(crypt); },
      add: `rclone copy ${q(tree)} secret:tree`,
      ls: 'rclone lsf -R secret:',
      get: `rclone copy secret:tree ${q(out('rclone'))}`,
    },
    restic: {
      setup: () => { rmSync(repo, { recursive: true, force: true }); rmSync(env.RESTIC_CACHE_DIR, { recursive: true, force: true }); sh(`restic init -q -r ${q(repo)}`, 'restic init'); },
      add: `cd ${q(work)} && restic -r ${q(repo)} backup -q tree`,
      ls: `restic -r ${q(repo)} ls latest`,
      get: `restic -r ${q(repo)} restore latest -q --target ${q(out('restic'))}`,
    },
    cp: {
      setup: () => rmSync(out('cp'), { recursive: true, force: true }),
      add: `cp -r ${q(tree)} ${q(out('cp'))}`,
    },
  };
  const names = Object.keys(tools);
  const res = Object.fromEntries(names.map((n) => [n, { add: [], ls: [], get: [] }]));
  for (let r = 0; r < treeRuns; r++) {
    const order = r % 2 ? [...names].reverse() : names;
    for (const name of order) {
      const t = tools[name];
      t.setup();
      for (const op of ['add', 'ls', 'get']) {
        if (!t[op]) continue;
        if (op === 'get') rmSync(out(name), { recursive: true, force: true });
        const m = run(t[op]);
        res[name][op].push(m);
        log(`run ${r + 1} ${name} ${op}`, m);
        if (r === 0 && op === 'ls') {
          const lines = m.out.split('\n').filter(Boolean).length;
          if (lines < N) throw new Error(`${name} ls listed ${lines} lines, expected at least ${N}`);
        }
        if (r === 0 && op === 'get') {
          const got = countFiles(out(name));
          if (got !== N) throw new Error(`${name} get wrote ${got} files, expected ${N}`);
        }
      }
    }
  }
  // Correctness once: coffer's copy is byte-identical to the source tree.
  if (spawnSync('diff', ['-r', '-q', tree, out('coffer')]).status !== 0) throw new Error('coffer vault get: tree differs from its source');
  for (const name of names) rmSync(out(name), { recursive: true, force: true });
  state.vault = vault;
  state.member = member;
  const summary = Object.fromEntries(names.map((n) => [n, Object.fromEntries(Object.entries(res[n]).filter(([, v]) => v.length).map(([op, v]) => [op, med(v)]))]));
  return { ...conditions(), files: N, runs: treeRuns, ...summary };
}

/* ---------- rotate ---------- */

async function rowRotate(state) {
  if (!state.vault) {
    console.log('\nrotate: building the tree vault first');
    await rowTree(state);
  }
  const { vault, member } = state;
  const id = `-i ${q(member.cofferFile)}`;
  const entries = sh(coffer(`vault ls ${q(vault)} -R ${id}`)).split('\n').filter(Boolean).length;
  console.log(`\nrotate: the tree vault (${entries} entries), rotate ${runs}× vs one revoke --reencrypt`);
  const other = path.join(work, `other-${Date.now()}.key`);
  const rec = sh(coffer(`keygen -o ${q(other)}`)).trim().split('\n').pop();
  sh(coffer(`vault grant ${q(vault)} ${rec} --label 'bench member' ${id}`), 'vault grant');
  const rot = [];
  for (let r = 0; r < runs; r++) {
    rot.push(run(coffer(`vault rotate ${q(vault)} ${id}`)));
    log(`run ${r + 1} coffer rotate`, rot.at(-1));
  }
  const members = JSON.parse(sh(coffer(`vault members ${q(vault)} --json ${id}`)));
  const victim = members.slots.find((s) => s.label === 'bench member');
  const reenc = run(coffer(`vault revoke ${q(vault)} ${victim.id} --reencrypt ${id}`));
  log('coffer revoke --reencrypt', reenc);
  return { ...conditions(), entries, rotate: med(rot), reencrypt: reenc };
}

/* ---------- scale: 100,000 entries ---------- */

async function rowScale() {
  console.log(`\nscale: add ${scaleN} files of 1 KiB (peak RSS), then open and list them all`);
  const tree = path.join(work, 'scale-tree');
  makeTree(tree, scaleN, 1024);
  const member = keys();
  const id = `-i ${q(member.cofferFile)}`;
  const vault = path.join(work, 'scale-vault');
  newVault(vault, member);
  const add = run(coffer(`vault add ${q(vault)} ${q(tree)} ${id}`));
  log(`coffer add (${scaleN} files)`, add);
  rmSync(tree, { recursive: true, force: true });
  const lss = [];
  for (let r = 0; r < runs; r++) {
    lss.push(run(coffer(`vault ls ${q(vault)} -R ${id}`)));
    log(`run ${r + 1} coffer ls -R`, lss.at(-1));
  }
  const entries = lss[0].out.split('\n').filter(Boolean).length;
  if (entries < scaleN) throw new Error(`ls -R listed ${entries} entries, expected at least ${scaleN}`);
  rmSync(vault, { recursive: true, force: true });
  return { ...conditions(), files: scaleN, entries, add, ls: { ...med(lss), rss: Math.max(...lss.map((m) => m.rss)) } };
}

/* ---------- the goals table ---------- */

const ratio = (a, b) => `${(a / b).toFixed(2)}×`;
const verdict = (ok) => (ok ? '**met**' : '**not met**');

function goalsTable(R) {
  const lines = [];
  const when = (row) => (R[row] ? `${R[row].date}, load ${R[row].load}` : 'not measured');
  lines.push('| measure | goal | coffer | peers in the same run | result |', '|---|---|---|---|---|');
  const t = R.tree;
  if (t) {
    const best = (op) => Math.min(t.rclone[op].wall, t.restic[op].wall);
    const cpu = (tool, op) => (t[tool][op].cpu === undefined ? '' : ` (CPU ${s2(t[tool][op].cpu)})`);
    const add = t.coffer.add.wall;
    lines.push(`| add ${t.files} × 4 KiB | ≤ faster of rclone crypt and restic, and ≤ 3× \`cp -r\` | ${s2(add)}${cpu('coffer', 'add')} | rclone ${s2(t.rclone.add.wall)}${cpu('rclone', 'add')}, restic ${s2(t.restic.add.wall)}${cpu('restic', 'add')}, cp -r ${s2(t.cp.add.wall)}${cpu('cp', 'add')} | ${verdict(add <= best('add') && add <= 3 * t.cp.add.wall)}: ${ratio(add, best('add'))} the faster peer, ${ratio(add, t.cp.add.wall)} cp -r |`);
    const get = t.coffer.get.wall;
    lines.push(`| get the whole tree back | ≤ faster of rclone crypt and restic | ${s2(get)}${cpu('coffer', 'get')} | rclone ${s2(t.rclone.get.wall)}${cpu('rclone', 'get')}, restic ${s2(t.restic.get.wall)}${cpu('restic', 'get')} | ${verdict(get <= best('get'))}: ${ratio(get, best('get'))} the faster peer |`);
    const ls = t.coffer.ls.wall;
    lines.push(`| \`ls -R\` of ${t.files} entries, including unlock with a member key | ≤ 0.4 s and ≤ the faster peer | ${s2(ls)}${cpu('coffer', 'ls')} | rclone lsf -R ${s2(t.rclone.ls.wall)}${cpu('rclone', 'ls')}, restic ls ${s2(t.restic.ls.wall)}${cpu('restic', 'ls')} | ${verdict(ls <= 0.4 && ls <= best('ls'))}: ${ratio(ls, 0.4)} the 0.4 s goal, ${ratio(ls, best('ls'))} the faster peer |`);
  }
  const sc = R.scale;
  if (sc?.partial) {
    // A run stopped by hand (the session ended): what was measured before it was stopped.
    lines.push(`| open and list a vault of ${sc.files} entries | ≤ 2 s, peak RSS ≤ 400 MiB | not measured at ${sc.files}; ${sc.ls.entries} entries: ${s2(sc.ls.wall)} (CPU ${s2(sc.ls.cpu)}), ${mib(sc.ls.rss)} | — | **not measured** (the add below did not finish) |`);
    lines.push(`| add ${sc.files} files | RSS stays flat (≤ 300 MiB) | stopped after ${sc.added} files in ${sc.minutes} min (CPU ${sc.addCpuSoFar.toFixed(0)} s); peak RSS by then ${mib(sc.addRssSoFar)} (VmHWM) | — | **not met**: ${ratio(sc.addRssSoFar, 300)} the goal, and still growing |`);
  } else if (sc) {
    lines.push(`| open and list a vault of ${sc.files} entries | ≤ 2 s, peak RSS ≤ 400 MiB | ${s2(sc.ls.wall)}, ${mib(sc.ls.rss)} | — | ${verdict(sc.ls.wall <= 2 && sc.ls.rss <= 400)}: ${ratio(sc.ls.wall, 2)} the time goal, ${ratio(sc.ls.rss, 400)} the memory goal |`);
    lines.push(`| add ${sc.files} files | RSS stays flat (≤ 300 MiB) | ${mib(sc.add.rss)} peak (${s2(sc.add.wall)}) | — | ${verdict(sc.add.rss <= 300)}: ${ratio(sc.add.rss, 300)} the goal |`);
  }
  const ro = R.rotate;
  if (ro) {
    const x = ro.reencrypt.wall / ro.rotate.wall;
    lines.push(`| rotate ${ro.entries} entries | ≤ 1 s, and ≥ 20× faster than \`revoke --reencrypt\` | ${s2(ro.rotate.wall)} (CPU ${s2(ro.rotate.cpu)}) | revoke --reencrypt ${s2(ro.reencrypt.wall)} (CPU ${s2(ro.reencrypt.cpu)}) | ${verdict(ro.rotate.wall <= 1 && x >= 20)}: ${ratio(ro.rotate.wall, 1)} the 1 s goal, rotate is ${x.toFixed(1)}× faster |`);
  }
  const f = R.file;
  if (f) {
    for (const dir of ['enc', 'dec']) {
      const c = f[dir].coffer.wall;
      const age = f[dir].age.wall;
      const raw = f[dir].raw.wall;
      lines.push(`| ${dir === 'enc' ? 'encrypt' : 'decrypt'} ${fmtSize(f.size)} (file to file) | ≤ 1.1× age and ≤ 1.25× raw secretstream | ${s2(c)} | age ${s2(age)} (with fsync ${s2(f[dir]['age+fsync'].wall)}), raw secretstream ${s2(raw)} (its crypto loop alone ${s2(f[dir].rawLoop)}), cp ${s2(f[dir].cp.wall)} | ${verdict(c <= 1.1 * age && c <= 1.25 * raw)}: ${ratio(c, age)} age, ${ratio(c, raw)} raw (${ratio(c, f[dir].rawLoop)} its loop alone); CPU ${ratio(f[dir].coffer.cpu, f[dir].age.cpu)} age's, ${ratio(f[dir].coffer.cpu, f[dir].raw.cpu)} raw's |`);
    }
  }
  const b = R.big;
  if (b && f) {
    const peak = Math.max(b.enc.rss, b.dec.rss, f.enc.coffer.rss, f.dec.coffer.rss);
    lines.push(`| peak RSS, ${fmtSize(f.size)} and ${fmtSize(b.size)} | flat, ≤ 96 MiB | ${fmtSize(f.size)}: ${mib(f.enc.coffer.rss)} / ${mib(f.dec.coffer.rss)}; ${fmtSize(b.size)}: ${mib(b.enc.rss)} / ${mib(b.dec.rss)} (enc / dec) | — | ${verdict(peak <= 96)} |`);
  }
  const a = R.app;
  if (a) {
    const ms = (x) => `${Number(x).toFixed(0)} ms`;
    lines.push(`| app: open a folder of ${a.entries} entries in the file browser | first paint ≤ 200 ms (the list is virtualised) | ${ms(a.paint)} (median of ${a.runs}; the first open after unlock ${ms(a.firstPaint)}); ${a.rows} rows in the DOM of ${a.entries}; CPU per open: server ${ms(a.cpuServer)}, Chromium ${ms(a.cpuBrowser)} | — (no peer) | ${verdict(a.paint <= 200)}: ${ratio(a.paint, 200)} the goal. files.list through the bridge ${ms(a.list)} (server CPU ${ms(a.listCpu)}; one-entry folder ${ms(a.listTop)}, server CPU ${ms(a.listTopCpu)}), the window after its reply ≈ ${ms(a.render)} |`);
  }
  lines.push('', 'When each row was measured (UTC, and the 1-minute load average of the 2-core machine at the start of the row):',
    ...['file', 'big', 'tree', 'rotate', 'scale', 'app'].map((r) => `- ${r}: ${when(r)}`));
  return lines.join('\n');
}

function fileDetail(f, b) {
  const row = (tool, dir) => {
    const m = f[dir][tool];
    return `| ${tool === 'raw' ? 'raw secretstream (in memory)' : tool} | ${dir === 'enc' ? 'encrypt' : 'decrypt'} | ${s2(m.wall)} | ${(f.size / 2 ** 20 / m.wall).toFixed(0)} MiB/s | ${s2(m.cpu)} | ${m.rss.toFixed(1)} MiB |`;
  };
  return [
    `Measured ${f.date} on ${f.cpus}, Node ${f.node}, load ${f.load}; ${f.runs} alternating runs, medians; ${fmtSize(f.size)} random file, page cache warm. coffer fsyncs its output before renaming it into place; age and cp do not (\`age+fsync\` is age followed by \`sync FILE\`).`,
    '',
    '| tool | direction | wall (median) | throughput | CPU, user + system (median) | peak RSS (median) |',
    '|---|---|---|---|---|---|',
    ...['coffer', 'age', 'age+fsync', 'cp', 'raw'].map((t) => row(t, 'enc')),
    ...['coffer', 'age', 'age+fsync', 'cp', 'raw'].map((t) => row(t, 'dec')),
    ...(b ? ['', `Constant memory (${b.date}, load ${b.load}): the same coffer commands on a ${fmtSize(b.size)} file peaked at ${b.enc.rss.toFixed(1)} MiB (encrypt, ${b.enc.wall.toFixed(1)} s) and ${b.dec.rss.toFixed(1)} MiB (decrypt, ${b.dec.wall.toFixed(1)} s), against ${f.enc.coffer.rss.toFixed(1)} / ${f.dec.coffer.rss.toFixed(1)} MiB for ${fmtSize(f.size)} (target ≤ 96 MiB, independent of size).`] : []),
  ].join('\n');
}

async function main() {
  if (!existsSync(cli)) spawnSync(process.execPath, [path.join(root, 'build/build.mjs'), '--only=cli'], { stdio: 'inherit' });
  need('/usr/bin/time', 'time');
  console.log(`bench: rows ${selected.join(', ')} in ${work} (load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')})`);
  const R = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) : {};
  const state = {};
  const impl = {
    file: rowFile, big: rowBig, tree: rowTree, rotate: rowRotate, scale: rowScale,
    app: async () => ({ ...conditions(), ...(await rowApp({ root, work, cli, env, runs, files: appN })) }),
  };
  for (const row of selected) {
    if (row === 'vault') {
      const r = spawnSync(process.execPath, [path.join(root, 'build/bench-vault.mjs'), ...args], { stdio: 'inherit' });
      if (r.status !== 0) throw new Error('bench-vault failed');
      continue;
    }
    if (row === 'versions') {
      // The cost of keeping versions (build/bench-versions.mjs writes its own section).
      const r = spawnSync(process.execPath, [path.join(root, 'build/bench-versions.mjs'), ...args], { stdio: 'inherit' });
      if (r.status !== 0) throw new Error('bench-versions failed');
      continue;
    }
    if (row === 'webdav') {
      // The WebDAV drive beside rclone serve webdav (build/bench-webdav.mjs writes its own section).
      const r = spawnSync(process.execPath, [path.join(root, 'build/bench-webdav.mjs'), ...args], { stdio: 'inherit' });
      if (r.status !== 0) throw new Error('bench-webdav failed');
      continue;
    }
    R[row] = await impl[row](state);
    if (write) writeFileSync(resultsFile, `${JSON.stringify(R, null, 1)}\n`);
  }
  const table = goalsTable(R);
  console.log(`\n${table}\n`);
  if (write) {
    writeSection(doc, 'goals', 'Issue 12 goals: coffer beside its peers', table);
    if (R.file) writeSection(doc, 'file', 'Single files: coffer vs age vs cp', fileDetail(R.file, R.big));
    console.log(`bench: wrote ${path.relative(root, doc)} and ${path.relative(root, resultsFile)}`);
  }
  rmSync(work, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(`bench: ${e.message}`);
  rmSync(work, { recursive: true, force: true });
  process.exit(1);
});
