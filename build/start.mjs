// `npm start`: builds, then launches the app.
// - With Electron's binary present (or downloadable), the desktop app.
// - Without it (offline machines, locked-down networks, CI), the same app in a browser window:
//   `coffer ui` (main/web), served on 127.0.0.1. It says so. COFFER_SHELL=browser forces that.
// npm 11 blocks dependency install scripts unless package.json allows them, and we deny electron's
// (CI has no access to its download host), so the binary is fetched here, on first start, instead.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);

const build = spawnSync(process.execPath, [path.join(root, 'build/build.mjs')], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

/** The Electron binary's path, or null when it is not on this machine. */
function electronBinary() {
  let dir;
  try {
    dir = path.dirname(require.resolve('electron/package.json'));
  } catch {
    return { dir: null, bin: null };
  }
  const txt = path.join(dir, 'path.txt');
  if (!existsSync(txt)) return { dir, bin: null };
  const bin = path.join(dir, 'dist', readFileSync(txt, 'utf8').trim());
  return { dir, bin: existsSync(bin) ? bin : null };
}

function run(cmd, argv) {
  const child = spawn(cmd, argv, { stdio: 'inherit' });
  // Ctrl-C reaches the child through the terminal; we only wait for it.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
}

function browserShell(why) {
  console.log(`start: ${why}`);
  console.log('start: starting Coffer in a browser window instead (`coffer ui`: the same app, served on 127.0.0.1 only).');
  run(process.execPath, [path.join(root, 'dist/main/cli.js'), 'ui', ...args]);
}

if (process.env.COFFER_SHELL === 'browser') {
  browserShell('COFFER_SHELL=browser is set.');
} else {
  let { dir, bin } = electronBinary();
  if (!bin && dir) {
    console.log('start: downloading the Electron binary (once)…');
    spawnSync(process.execPath, [path.join(dir, 'install.js')], { stdio: 'inherit', cwd: dir });
    ({ bin } = electronBinary());
  }
  if (bin) run(bin, [root, ...args]);
  else browserShell(dir ? 'no Electron binary here, and it could not be downloaded (no access to its download host; ELECTRON_MIRROR can name a reachable mirror).' : 'Electron is not installed (npm ci --omit=dev?).');
}
