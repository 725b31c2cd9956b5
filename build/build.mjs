// Builds the app into dist/:
//   dist/main/app.js        Electron main process (CJS, node; electron and every npm package external)
//   dist/main/cli.js        the `coffer` CLI (same settings)
//   dist/preload/preload.js ONE CommonJS file for the sandboxed preload (zod bundled; only electron external)
//   dist/renderer/          the React UI built by Vite with a relative base, loadable from file://
//   dist/web/coffer-bridge.js  the browser shell's bridge (`coffer ui`): createApi over a WebSocket
// Usage: node build/build.mjs [--no-renderer] [--only=PART[,PART…]]   parts: main, cli, preload, web, renderer
import { build as esbuild } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const only = args.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const want = (part) => (only ? only.includes(part) : !(part === 'renderer' && args.includes('--no-renderer')));
const started = Date.now();
// vite.config.ts is loaded by Vite's bundling config loader; silence its advice about the native one.
process.env.VITE_CONFIG_NATIVE_IGNORE_WARNING ??= 'true';
// Always a production build (React's development build is twice the size), even when run from Vitest.
process.env.NODE_ENV = 'production';

const nodeCommon = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // electron and everything in node_modules stay require()d at run time (native modules, asar).
  packages: 'external',
  external: ['electron'],
  sourcemap: 'linked',
  logLevel: 'warning',
  absWorkingDir: root,
};

async function buildMain() {
  const entries = [{ in: 'main/app.ts', out: 'app' }];
  await esbuild({
    ...nodeCommon,
    entryPoints: entries,
    outdir: path.join(root, 'dist/main'),
  });
}

async function buildCli() {
  await esbuild({
    ...nodeCommon,
    entryPoints: [{ in: 'main/cli/index.ts', out: 'cli' }],
    outdir: path.join(root, 'dist/main'),
  });
}

async function buildPreload() {
  await esbuild({
    bundle: true,
    // A sandboxed preload may require() only `electron` (and a few polyfilled modules); everything
    // else, zod included, must be inside this one file.
    platform: 'browser',
    format: 'cjs',
    target: 'chrome130',
    external: ['electron'],
    entryPoints: [path.join(root, 'preload/preload.ts')],
    minify: true,
    outfile: path.join(root, 'dist/preload/preload.js'),
    sourcemap: 'linked',
    logLevel: 'warning',
    absWorkingDir: root,
  });
}

async function buildWeb() {
  // The browser shell's bridge (`coffer ui`): preload/api.ts over a WebSocket, one classic script.
  await esbuild({
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'chrome120',
    entryPoints: [path.join(root, 'preload/browser.ts')],
    minify: true,
    outfile: path.join(root, 'dist/web/coffer-bridge.js'),
    logLevel: 'warning',
    absWorkingDir: root,
  });
}

async function buildRenderer() {
  const { build } = await import('vite');
  await build({ configFile: path.join(root, 'vite.config.ts'), logLevel: 'warn' });
}

const jobs = [];
if (want('main')) jobs.push(buildMain().then(() => 'main'));
if (want('cli')) jobs.push(buildCli().then(() => 'cli'));
if (want('preload')) jobs.push(buildPreload().then(() => 'preload'));
if (want('web')) jobs.push(buildWeb().then(() => 'web'));
if (want('renderer')) jobs.push(buildRenderer().then(() => 'renderer'));
try {
  const done = await Promise.all(jobs);
  console.log(`build: ${done.join(', ')} in ${Date.now() - started} ms`);
} catch (e) {
  console.error(`build failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
