/**
 * Finding 14 (low, L): SIGINT/SIGTERM during `decrypt -o`, and SIGTERM/SIGKILL during `vault get`,
 * left partial plaintext files that nothing ever removed.
 *
 * Each attack is performed for real on the built CLI: the signal arrives while partial output exists
 * (for `decrypt -o`, stdin is held open mid-payload; for `vault get` and `vault add`, the process is
 * frozen with SIGSTOP the moment its partial file appears, then signalled and resumed). A caught signal
 * must leave nothing at OUT or in the vault's tmp/ and exit 130/143 with one line. SIGKILL cannot be
 * caught: the debris it leaves is the positive control (it is what SIGTERM left before, with no
 * handler), and the next run must sweep it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CLI, runCoffer } from '../helpers/cli';
import { makeTree, newVault, open, sandbox, type Sandbox } from './helpers';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function start(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stdin?.on('error', () => undefined);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { child, done };
}

/** Waits until `dir` holds an entry matching `re` (with at least `minSize` bytes); null if `stop` settles first. */
async function waitFor(dir: string, re: RegExp, minSize: number, stop: Promise<unknown>): Promise<string | null> {
  let over = false;
  void stop.then(() => { over = true; });
  for (;;) {
    const hit = existsSync(dir) ? readdirSync(dir).find((n) => re.test(n) && statSync(path.join(dir, n), { throwIfNoEntry: false }) !== undefined && (statSync(path.join(dir, n), { throwIfNoEntry: false })?.size ?? 0) >= minSize) : undefined;
    if (hit) return hit;
    if (over) return null;
    await sleep(1);
  }
}

const PARTIAL = /\.coffer-partial$/;

async function sealedFile(size = 4 << 20): Promise<{ key: string; sealed: Buffer; plain: Buffer }> {
  const key = path.join(sb.base, 'id.key');
  const pub = (await runCoffer(['keygen', '-o', key])).stdout.toString().trim();
  const plain = randomBytes(size);
  writeFileSync(path.join(sb.base, 'plain.bin'), plain);
  const enc = await runCoffer(['encrypt', '-r', pub, '-o', path.join(sb.base, 'sealed.coffer'), path.join(sb.base, 'plain.bin')]);
  expect(enc.code, enc.stderr).toBe(0);
  return { key, sealed: readFileSync(path.join(sb.base, 'sealed.coffer')), plain };
}

describe('finding 14: decrypt -o', () => {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`${sig} mid-payload removes the partial plaintext and exits ${sig === 'SIGINT' ? 130 : 143}`, async () => {
      // IN is a file (the file-to-file path): the process is frozen the moment its partial output
      // appears, signalled, then resumed, so the signal lands while the output is being written.
      sb = sandbox();
      const { key } = await sealedFile(48 << 20);
      const outDir = path.join(sb.base, 'out');
      mkdirSync(outDir);
      const clear = (): void => { for (const n of readdirSync(outDir)) rmSync(path.join(outDir, n)); };
      const args = ['decrypt', '-i', key, '-o', path.join(outDir, 'plain.bin'), path.join(sb.base, 'sealed.coffer')];
      const r = await interruptWhen(args, {}, outDir, PARTIAL, sig, clear);
      expect(r.code, r.stderr).toBe(sig === 'SIGINT' ? 130 : 143);
      expect(r.stderr).toBe(`coffer: interrupted (${sig}); nothing partial was left behind\n`);
      expect(readdirSync(outDir)).toEqual([]);
    }, 180_000);
  }

  it('SIGKILL leaves a partial file (positive control: what an uncaught signal did); the next run sweeps it', async () => {
    sb = sandbox();
    const { key, sealed, plain } = await sealedFile();
    const outDir = path.join(sb.base, 'out');
    mkdirSync(outDir);
    const { child, done } = start(['decrypt', '-i', key, '-o', path.join(outDir, 'plain.bin')]);
    child.stdin?.write(sealed.subarray(0, sealed.length >> 1));
    const partial = await waitFor(outDir, PARTIAL, 64 * 1024, done);
    child.kill('SIGKILL');
    await done;
    expect(readdirSync(outDir)).toEqual([partial]); // plaintext debris
    const again = await runCoffer(['decrypt', '-i', key, '-o', path.join(outDir, 'second.bin'), path.join(sb.base, 'sealed.coffer')]);
    expect(again.code, again.stderr).toBe(0);
    expect(readdirSync(outDir)).toEqual(['second.bin']);
    expect(readFileSync(path.join(outDir, 'second.bin')).equals(plain)).toBe(true);
  });
});

/** Runs `args`, freezes the process when `dir` shows `re`, sends `sig`, resumes it. Retries if it finished first. */
async function interruptWhen(args: string[], env: NodeJS.ProcessEnv, dir: string, re: RegExp, sig: NodeJS.Signals, reset: () => void): Promise<{ code: number | null; stderr: string; seen: string }> {
  for (let attempt = 0; ; attempt++) {
    const { child, done } = start(args, env);
    const seen = await waitFor(dir, re, 0, done);
    if (seen !== null) {
      child.kill('SIGSTOP');
      child.kill(sig);
      child.kill('SIGCONT');
      const r = await done;
      return { code: r.code, stderr: r.stderr, seen };
    }
    await done;
    if (attempt >= 4) throw new Error(`the command finished before its partial file could be seen, ${attempt + 1} times`);
    reset();
  }
}

describe('finding 14: vault get and vault add', () => {
  const env = (): NodeJS.ProcessEnv => ({ COFFER_PASSPHRASE: 'pw', COFFER_STATE_DIR: sb.state });

  async function bigVault(): Promise<void> {
    sb = sandbox();
    const { vault } = await newVault(sb, { passphrase: 'pw' });
    makeTree(path.join(sb.base, 'in'), { 'big.bin': randomBytes(48 << 20) });
    await vault.add([path.join(sb.base, 'in/big.bin')]);
    vault.lock();
  }

  it('vault get: SIGTERM removes the partial file; SIGKILL debris is swept by the next get', async () => {
    await bigVault();
    const outDir = path.join(sb.base, 'out');
    mkdirSync(outDir);
    const args = ['vault', 'get', sb.dir, 'big.bin', '-o', path.join(outDir, 'big.bin'), '-p'];
    const clear = (): void => { for (const n of readdirSync(outDir)) rmSync(path.join(outDir, n)); };
    const r = await interruptWhen(args, env(), outDir, PARTIAL, 'SIGTERM', clear);
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toMatch(/^coffer: interrupted \(SIGTERM\)/);
    expect(readdirSync(outDir)).toEqual([]);

    const k = await interruptWhen(args, env(), outDir, PARTIAL, 'SIGKILL', clear);
    expect(k.code).toBeNull();
    expect(readdirSync(outDir)).toEqual([k.seen]); // positive control: plaintext debris
    const again = await runCoffer(['vault', 'get', sb.dir, 'big.bin', '-o', path.join(outDir, 'again.bin'), '-p'], { env: env() });
    expect(again.code, again.stderr).toBe(0);
    expect(readdirSync(outDir)).toEqual(['again.bin']);
  }, 180_000);

  it('vault add: SIGTERM leaves tmp/ empty and the vault verifying; SIGKILL debris is swept by the next add and repair', async () => {
    await bigVault();
    const tmp = path.join(sb.dir, 'tmp');
    const args = ['vault', 'add', sb.dir, path.join(sb.base, 'in/big.bin'), '--to', 'again', '-p'];
    const r = await interruptWhen(args, env(), tmp, /\.tmp$/, 'SIGTERM', () => undefined);
    expect(r.code, r.stderr).toBe(143);
    expect(readdirSync(tmp)).toEqual([]);
    const v = await open(sb, { passphrase: 'pw' });
    expect((await v.verify()).ok).toBe(true);
    v.lock();

    const k = await interruptWhen(args, env(), tmp, /\.tmp$/, 'SIGKILL', () => undefined);
    expect(k.code).toBeNull();
    expect(readdirSync(tmp)).toContain(k.seen); // positive control: a partial blob stays in tmp/
    makeTree(path.join(sb.base, 'in2'), { 'small.txt': 'small' });
    const add = await runCoffer(['vault', 'add', sb.dir, path.join(sb.base, 'in2/small.txt'), '-p'], { env: env() });
    expect(add.code, add.stderr).toBe(0);
    expect(readdirSync(tmp)).not.toContain(k.seen); // swept by the next add
    const rep = await runCoffer(['vault', 'verify', sb.dir, '--repair', '-p'], { env: env() });
    expect(rep.code, rep.stderr).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
  }, 180_000);
});
