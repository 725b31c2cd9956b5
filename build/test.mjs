// `npm test`: checks the system packages the tests need (installing them when it can), builds,
// lints, type-checks, then runs every Vitest suite and prints a closing "N passed, N failed" line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

const SYSTEM = [
  { pkg: 'chromium', check: () => existsSync('/usr/bin/chromium'), why: 'renderer end-to-end tests in real Chromium' },
  { pkg: 'softhsm2', check: () => existsSync('/usr/lib/softhsm/libsofthsm2.so') && onPath('softhsm2-util'), why: 'hardware-key tests on a SoftHSM2 token' },
  { pkg: 'openssl', check: () => onPath('openssl'), why: 'TLS fixtures for the Vault Transit tests' },
  { pkg: 'litmus', check: () => onPath('litmus'), why: 'WebDAV compliance suite against coffer vault serve' },
  { pkg: 'rclone', check: () => onPath('rclone'), why: 'WebDAV client round trip against coffer vault serve' },
];

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function run(label, cmd, args, opts = {}) {
  const t = Date.now();
  console.log(`\n== ${label}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  console.log(`== ${label}: ${r.status === 0 ? 'ok' : `failed (exit ${r.status ?? r.signal})`} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return r.status === 0;
}

const missing = SYSTEM.filter((s) => !s.check());
if (missing.length > 0) {
  const pkgs = missing.map((m) => m.pkg).join(' ');
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && onPath('apt-get')) {
    console.log(`npm test: installing system packages: ${pkgs}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    if (!run('apt-get update', 'apt-get', ['update'], { env }) || !run(`apt-get install ${pkgs}`, 'apt-get', ['install', '-y', ...missing.map((m) => m.pkg)], { env })) {
      console.error(`npm test: could not install ${pkgs}; install them and re-run`);
      process.exit(1);
    }
  } else {
    for (const m of missing) console.error(`npm test: missing ${m.pkg} (needed for ${m.why})`);
    console.error(`npm test: run this, then npm test again:\n  sudo apt-get update && sudo apt-get install -y ${pkgs}`);
    process.exit(1);
  }
}

let ok = run('build', process.execPath, [path.join(root, 'build/build.mjs')]);
ok = run('lint (eslint, with layer boundaries)', bin('eslint'), ['.', '--max-warnings=0']) && ok;
ok = run('type-check (tsc --noEmit, strict; electron glue against electron.d.ts)', bin('tsc'), ['--noEmit', '-p', 'tsconfig.json']) && ok;

mkdirSync(path.join(root, 'test-artifacts'), { recursive: true });
const report = path.join(root, 'test-artifacts', 'vitest.json');
ok = run('tests (vitest)', bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`]) && ok;

let passed = 0, failed = 0, skipped = 0;
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed = r.numPassedTests ?? 0;
  failed = r.numFailedTests || r.numFailedTestSuites || 0; // a suite that fails to load has no failed tests
  skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
}
if (!ok && failed === 0) failed = 1; // a build, lint or type-check failure counts as a failure
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(ok ? 0 : 1);
