// WebDAV drive benchmarks (issue 10, part 2), called by `npm run bench` (build/bench.mjs) with the same
// arguments, or alone: node build/bench-webdav.mjs [--size 1G] [--runs 3] [--files 10000] [--dir DIR] [--no-write]
// Beside `rclone serve webdav` of a plain folder, in the same run, alternating: GET and PUT of one SIZE file
// with curl (the client), the server's peak RSS; PROPFIND depth 1 of a folder of N entries right after unlock.
// Writes a table into docs/BENCHMARKS.md between the bench:webdav markers.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { makeRandomFile, median, option, parseSize, writeSection } from './bench-util.mjs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => option(args, name, dflt);
const size = parseSize(opt('size', '1G'));
const runs = Math.max(1, Number(opt('runs', '3')));
const N = Number(opt('files', '10000'));
const work = mkdtempSync(path.join(opt('dir', os.tmpdir()), 'coffer-bench-webdav-'));
const cli = path.join(root, 'dist/main/cli.js');
const USER = 'coffer';
const PASS = 'bench-password';
const env = { ...process.env, COFFER_STATE_DIR: path.join(work, 'state'), COFFER_PASSPHRASE: 'bench passphrase' };
const fmtSize = (n) => (n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(n % 1024 ** 3 ? 1 : 0)} GiB` : `${(n / 1024 ** 2).toFixed(0)} MiB`);

for (const c of ['curl', 'rclone']) {
  if (spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0) {
    console.error(`bench-webdav: ${c} is missing; install it: sudo apt-get install -y ${c}`);
    process.exit(1);
  }
}
if (spawnSync('sh', ['-c', `test -f '${cli}'`]).status !== 0) spawnSync(process.execPath, [path.join(root, 'build/build.mjs'), '--only=cli'], { stdio: 'inherit' });

/** Starts a server process; resolves with its URL once it prints it. */
function start(cmd, argv, pattern) {
  const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  return new Promise((resolve, reject) => {
    const on = (c) => {
      log += c.toString();
      const m = pattern.exec(log);
      if (m) resolve({ child, url: m[1] });
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
    child.on('close', (code) => reject(new Error(`${cmd} exited (${code}): ${log}`)));
  });
}

async function stop(s) {
  const done = new Promise((r) => s.child.once('close', r));
  s.child.kill('SIGTERM');
  await done;
}

/** CPU time (user + system, ms) a process has used so far (/proc/PID/stat, clock ticks of 10 ms). */
const cpuMs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};

const peakRss = (pid) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

function curl(argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('curl', ['-sS', '--fail', '-u', `${USER}:${PASS}`, ...argv], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`curl ${argv.join(' ')}: ${r.stderr}`);
  return { wall, out: r.stdout };
}

const coffer = (a) => spawnSync(process.execPath, [cli, ...a], { env, encoding: 'utf8' });
const serveCoffer = (dir) => start(process.execPath, [cli, 'vault', 'serve', dir, '--password-file', path.join(work, 'davpass')], /url: (http:\/\/127\.0\.0\.1:\d+\/)/);
const serveRclone = (dir) => start('rclone', ['serve', 'webdav', dir, '--addr', '127.0.0.1:0', '--user', USER, '--pass', PASS], /(http:\/\/127\.0\.0\.1:\d+\/)/);

async function main() {
  writeFileSync(path.join(work, 'davpass'), `${PASS}\n`);
  const vault = path.join(work, 'vault');
  const plain = path.join(work, 'plain');
  mkdirSync(plain);
  const init = coffer(['vault', 'init', vault, '-p']);
  if (init.status !== 0) throw new Error(init.stderr);
  const input = path.join(work, 'input.bin');
  console.log(`bench-webdav: ${fmtSize(size)} file, ${runs} alternating runs; PROPFIND of ${N} entries; in ${work}`);
  await makeRandomFile(input, size);

  const res = { coffer: { put: [], get: [], putCpu: [], getCpu: [], rss: 0 }, rclone: { put: [], get: [], putCpu: [], getCpu: [], rss: 0 } };
  const servers = { coffer: await serveCoffer(vault), rclone: await serveRclone(plain) };
  for (let r = 0; r < runs; r++) {
    const order = r % 2 ? ['rclone', 'coffer'] : ['coffer', 'rclone'];
    for (const name of order) {
      const s = servers[name];
      const c0 = cpuMs(s.child.pid);
      const put = curl(['-T', input, `${s.url}big.bin`]);
      const c1 = cpuMs(s.child.pid);
      const get = curl(['-o', '/dev/null', `${s.url}big.bin`]);
      res[name].putCpu.push(c1 - c0);
      res[name].getCpu.push(cpuMs(s.child.pid) - c1);
      res[name].put.push(put.wall);
      res[name].get.push(get.wall);
      console.log(`run ${r + 1} ${name.padEnd(6)} PUT ${(size / 2 ** 20 / put.wall).toFixed(0)} MiB/s, GET ${(size / 2 ** 20 / get.wall).toFixed(0)} MiB/s`);
      curl(['-X', 'DELETE', `${s.url}big.bin`]);
    }
  }
  for (const name of ['coffer', 'rclone']) {
    res[name].rss = peakRss(servers[name].child.pid);
    await stop(servers[name]);
  }
  rmSync(input);

  // PROPFIND depth 1 on N entries, right after unlock (a fresh server process: the vault is opened, then asked).
  const src = path.join(work, 'many');
  mkdirSync(src);
  for (let i = 0; i < N; i++) writeFileSync(path.join(src, `file-${String(i).padStart(5, '0')}.txt`), `entry ${i}\n`);
  const add = coffer(['vault', 'add', vault, src]);
  if (add.status !== 0) throw new Error(add.stderr);
  spawnSync('cp', ['-r', src, plain]);
  const pf = {};
  for (const name of ['coffer', 'rclone']) {
    const s = name === 'coffer' ? await serveCoffer(vault) : await serveRclone(plain);
    const times = [];
    const all = [];
    let entries = 0;
    // What file managers ask for (davfs2, Finder, Explorer name their properties), then allprop (no body).
    const body = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getcontentlength/><D:getlastmodified/><D:getetag/></D:prop></D:propfind>';
    const cpus = [];
    for (let i = 0; i < 6; i++) {
      const c0 = cpuMs(s.child.pid);
      const t = curl(['-X', 'PROPFIND', '-H', 'Depth: 1', '-H', 'Content-Type: application/xml', '--data-binary', body, `${s.url}many/`]);
      cpus.push(cpuMs(s.child.pid) - c0);
      times.push(t.wall);
      entries = (t.out.match(/<(?:D:|d:)?response[ >]/gi) ?? []).length - 1;
      all.push(curl(['-X', 'PROPFIND', '-H', 'Depth: 1', `${s.url}many/`]).wall);
    }
    pf[name] = { first: times[0], warm: median(times.slice(1)), all: median(all), entries, cpuFirst: cpus[0], cpuWarm: median(cpus.slice(1)) };
    console.log(`${name} PROPFIND depth 1 of ${entries} entries: first ${(times[0] * 1000).toFixed(0)} ms, then ${(pf[name].warm * 1000).toFixed(0)} ms (median); allprop ${(pf[name].all * 1000).toFixed(0)} ms`);
    await stop(s);
  }
  rmSync(work, { recursive: true, force: true });

  const med = (name, dir) => median(res[name][dir]);
  const mibs = (name, dir) => size / 2 ** 20 / med(name, dir);
  const cpu = (os.cpus()[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ');
  const ratio = (dir) => (mibs('coffer', dir) / mibs('rclone', dir)).toFixed(2);
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} × ${cpu} (load average ${os.loadavg()[0].toFixed(1)} at the end), Node ${process.version}, ${runs} alternating runs, medians; curl as the client on the same machine, ${fmtSize(size)} random file (page cache warm). Peer: \`rclone serve webdav\` (${spawnSync('rclone', ['version'], { encoding: 'utf8' }).stdout.split('\n')[0]}) of a plain folder.`,
    '',
    '| server | PUT | GET | server CPU per GiB, PUT / GET | server peak RSS |',
    '|---|---|---|---|---|',
    ...['coffer', 'rclone'].map((n) => `| ${n === 'coffer' ? 'coffer vault serve' : 'rclone serve webdav (plain folder)'} | ${mibs(n, 'put').toFixed(0)} MiB/s | ${mibs(n, 'get').toFixed(0)} MiB/s | ${(median(res[n].putCpu) / 1000 / (size / 2 ** 30)).toFixed(2)} s / ${(median(res[n].getCpu) / 1000 / (size / 2 ** 30)).toFixed(2)} s | ${res[n].rss.toFixed(0)} MiB |`),
    '',
    `coffer / rclone throughput: PUT ${ratio('put')}×, GET ${ratio('get')}× (goal ≥ 0.8×; coffer encrypts and authenticates, rclone copies plaintext).`,
    '',
    `PROPFIND depth 1 of a folder of ${pf.coffer.entries} entries (resourcetype, getcontentlength, getlastmodified, getetag, as file managers ask), first request after unlock: coffer ${(pf.coffer.first * 1000).toFixed(0)} ms (then ${(pf.coffer.warm * 1000).toFixed(0)} ms), rclone ${(pf.rclone.first * 1000).toFixed(0)} ms (then ${(pf.rclone.warm * 1000).toFixed(0)} ms); allprop: coffer ${(pf.coffer.all * 1000).toFixed(0)} ms, rclone ${(pf.rclone.all * 1000).toFixed(0)} ms. Goal ≤ 100 ms. Times include curl's start. Server CPU time for that request (from /proc, 10 ms ticks; less sensitive to the machine's load than wall time): coffer ${pf.coffer.cpuFirst} ms first, then ${pf.coffer.cpuWarm} ms; rclone ${pf.rclone.cpuFirst} ms first, then ${pf.rclone.cpuWarm} ms.`,
  ];
  const block = lines.join('\n');
  console.log(`\n${block}\n`);
  if (!args.includes('--no-write')) {
    const doc = path.join(root, 'docs/BENCHMARKS.md');
    writeSection(doc, 'webdav', 'The vault as a WebDAV drive', block);
    console.log(`bench-webdav: wrote ${path.relative(root, doc)}`);
  }
}

main().catch((e) => { console.error(`bench-webdav: ${e.message}`); rmSync(work, { recursive: true, force: true }); process.exit(1); });
