/**
 * Packaging: runs `electron-builder --dir --linux` offline (proxies point at a closed port, so any
 * download attempt fails) against a stand-in electronDist: a fake `electron` that carries only
 * Electron's fuse wire, so we can also check the fuses electron-builder.yml sets were flipped.
 * Then checks app.asar holds the main, preload and renderer bundles, the native modules sit
 * unpacked, and other platforms' sodium-native prebuilds were left out.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { extractFile, listPackage } from '@electron/asar';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './harness';

const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
// Fuse order (FuseV1Options): RunAsNode, CookieEncryption, NODE_OPTIONS, inspect args, asar integrity,
// only load from asar, browser-process V8 snapshot, file:// extra privileges. Electron's defaults:
const DEFAULT_WIRE = '10111110';
const WANTED_WIRE = '01001100';

function ensureBuilt(): void {
  const need = ['dist/main/app.js', 'dist/preload/preload.js', 'dist/renderer/index.html'].some((f) => !existsSync(path.join(ROOT, f)));
  if (need) execFileSync(process.execPath, [path.join(ROOT, 'build', 'build.mjs')], { stdio: 'inherit', cwd: ROOT });
}

describe('packaging (electron-builder --dir --linux, offline)', () => {
  let out: string;
  let log = '';

  beforeAll(() => {
    ensureBuilt();
    const work = tempDir('pack');
    const dist = path.join(work, 'electron-dist');
    mkdirSync(path.join(dist, 'resources'), { recursive: true });
    const fuseWire = Buffer.concat([Buffer.from(SENTINEL), Buffer.from([1, DEFAULT_WIRE.length]), Buffer.from(DEFAULT_WIRE)]);
    writeFileSync(path.join(dist, 'electron'), Buffer.concat([Buffer.from('#!/bin/sh\necho "stand-in Electron for packaging tests" >&2\nexit 1\n# '), fuseWire, Buffer.from('\n')]), { mode: 0o755 });
    writeFileSync(path.join(dist, 'version'), '41.7.1');
    out = path.join(work, 'release');
    const dead = 'http://127.0.0.1:9';
    const r = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'electron-builder'), ['--dir', '--linux', '--x64', `-c.electronDist=${dist}`, `-c.directories.output=${out}`, '-c.electronVersion=41.7.1', '--publish=never'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 240_000,
      env: { ...process.env, HTTPS_PROXY: dead, HTTP_PROXY: dead, https_proxy: dead, http_proxy: dead, ELECTRON_CACHE: path.join(work, 'cache'), ELECTRON_BUILDER_CACHE: path.join(work, 'eb-cache'), CSC_IDENTITY_AUTO_DISCOVERY: 'false' },
    });
    log = `${r.stdout}\n${r.stderr}`;
    if (r.status !== 0) throw new Error(`electron-builder failed (exit ${r.status ?? r.signal}):\n${log}`);
  }, 300_000);

  it('puts the main, preload and renderer bundles in app.asar, without source maps, the CLI or React', () => {
    const asar = path.join(out, 'linux-unpacked', 'resources', 'app.asar');
    expect(existsSync(asar), log).toBe(true);
    const files = listPackage(asar, { isPack: false }).map((f) => f.replace(/\\/g, '/'));
    for (const f of ['/dist/main/app.js', '/dist/preload/preload.js', '/dist/renderer/index.html', '/dist/renderer/assets/app.js', '/dist/renderer/assets/style.css', '/package.json']) expect(files).toContain(f);
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files).not.toContain('/dist/main/cli.js');
    expect(files.filter((f) => f.startsWith('/node_modules/react/') || f.startsWith('/node_modules/react-dom/'))).toEqual([]);
    expect(files.some((f) => f.startsWith('/renderer/') || f.startsWith('/main/') || f.startsWith('/test/'))).toBe(false);
    const pkg = JSON.parse(extractFile(asar, 'package.json').toString('utf8')) as { main: string };
    expect(pkg.main).toBe('dist/main/app.js');
    // Runtime dependencies of the main bundle are inside.
    for (const dep of ['zod', 'node-vault', 'bech32', 'libsodium-wrappers-sumo']) expect(files.some((f) => f.startsWith(`/node_modules/${dep}/`)), dep).toBe(true);
  });

  it('keeps native modules unpacked, and only this platform’s sodium-native prebuild', () => {
    const unpacked = path.join(out, 'linux-unpacked', 'resources', 'app.asar.unpacked');
    const natives = (dir: string): string[] => readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile() && e.name.endsWith('.node')).map((e) => path.relative(unpacked, path.join(e.parentPath, e.name)));
    const found = natives(unpacked).sort();
    expect(found).toContain(path.join('node_modules', 'pkcs11js', 'build', 'Release', 'pkcs11.node'));
    expect(found).toContain(path.join('node_modules', 'sodium-native', 'prebuilds', `linux-${os.arch()}`, 'sodium-native.node'));
    const prebuilds = readdirSync(path.join(unpacked, 'node_modules', 'sodium-native', 'prebuilds'));
    expect(prebuilds).toEqual([`linux-${os.arch()}`]);
    const inAsar = listPackage(path.join(out, 'linux-unpacked', 'resources', 'app.asar'), { isPack: false }).filter((f) => f.includes('sodium-native/prebuilds/') && !f.includes(`linux-${os.arch()}`));
    expect(inAsar).toEqual([]);
  });

  it('flips the Electron fuses (RunAsNode, NODE_OPTIONS and inspect off; asar integrity and asar-only on)', () => {
    const exe = path.join(out, 'linux-unpacked', 'coffer-desktop');
    const bin = readFileSync(exe);
    const at = bin.indexOf(SENTINEL) + SENTINEL.length;
    expect(bin[at]).toBe(1);
    expect(bin.subarray(at + 2, at + 2 + bin[at + 1]!).toString('latin1')).toBe(WANTED_WIRE);
  });
});
