// `npm start`: builds, makes sure Electron's binary is present, then launches the app.
// npm 11 blocks dependency install scripts unless package.json allows them, and we deny electron's
// (CI has no access to its download host), so the binary is fetched here, on first start, instead.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const electronDir = path.dirname(require.resolve('electron/package.json'));

const build = spawnSync(process.execPath, [path.join(root, 'build/build.mjs')], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

if (!existsSync(path.join(electronDir, 'path.txt'))) {
  console.log('start: downloading the Electron binary (once)…');
  const r = spawnSync(process.execPath, [path.join(electronDir, 'install.js')], { stdio: 'inherit', cwd: electronDir });
  if (r.status !== 0 || !existsSync(path.join(electronDir, 'path.txt'))) {
    console.error('start: could not download Electron (no access to its download host?). Set ELECTRON_MIRROR to a reachable mirror, or run `node node_modules/electron/install.js`, then `npm start` again.');
    process.exit(1);
  }
}
const electron = require('electron');
const child = spawn(electron, [root, ...process.argv.slice(2)], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
