/**
 * Crash safety: the real CLI is killed with SIGKILL at random moments during `vault add` and during
 * `vault rotate`. After each kill, `verify` must be clean, or `verify --repair` must make it clean
 * without touching committed data, and every file committed before the kill must be intact.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { initSodium } from '../../main/core/crypto/sodium';
import { openVault, type Vault } from '../../main/core/vault';
import { X25519Identity } from '../../main/core/keys/x25519';
import { CLI, runCoffer, tempDir } from '../helpers/cli';

const tmp = tempDir('coffer-crash-');
afterAll(() => tmp.cleanup());
const dir = path.join(tmp.dir, 'vault');
const state = path.join(tmp.dir, 'state');
const src = path.join(tmp.dir, 'src');
const env = { COFFER_STATE_DIR: state, COFFER_PASSPHRASE: 'crash test' };
const KILLS = 20;

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const expected = new Map<string, string>(); // source file name → sha256

/** Runs the CLI; kills it with SIGKILL after `killAfterMs` (if given). Resolves with how it ended. */
function runAndKill(args: string[], killAfterMs?: number): Promise<{ killed: boolean; code: number | null; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: 'ignore' });
    let timer: NodeJS.Timeout | undefined;
    if (killAfterMs !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ killed: signal === 'SIGKILL', code, ms: Date.now() - t0 });
    });
  });
}

async function openV(): Promise<Vault> {
  await initSodium();
  return openVault(dir, { credentials: { passphrase: env.COFFER_PASSPHRASE }, stateDir: state, heal: false });
}

async function readAll(v: Vault, p: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await v.readFile(p, new Writable({ write: (c: Buffer, _e, cb) => { chunks.push(c); cb(); } }));
  return Buffer.concat(chunks);
}

/** verify, then verify --repair if needed; returns the set of committed file paths (and whether repair ran). */
async function checkClean(): Promise<{ files: string[]; repaired: number; evidence: boolean }> {
  const v = await openV();
  try {
    let rep = await v.verify();
    const errors = rep.problems.filter((p) => p.severity === 'error');
    const evidence = errors.length > 0 || rep.problems.some((p) => p.code === 'STALE_EPOCH');
    let repaired = 0;
    if (!rep.ok) {
      expect(errors.every((p) => p.repairable)).toBe(true);
      const r = await v.verify({ repair: true });
      repaired = r.repaired.length;
      rep = await v.verify();
      expect(rep.ok).toBe(true);
    }
    expect(rep.problems.filter((p) => p.severity === 'error')).toEqual([]);
    const files = v.list('', { recursive: true }).filter((e) => e.type === 'file').map((e) => e.path).sort();
    return { files, repaired, evidence };
  } finally {
    v.lock();
  }
}

async function checkContents(paths: string[]): Promise<void> {
  const v = await openV();
  try {
    for (const p of paths) {
      const name = path.basename(p);
      expect(sha(await readAll(v, p)), p).toBe(expected.get(name));
    }
  } finally {
    v.lock();
  }
}

describe('SIGKILL at random moments', () => {
  it('during add and during rotate leaves a clean (or cleanly repairable) vault with committed files intact', async () => {
    mkdirSync(src);
    for (let i = 0; i < 30; i++) {
      const b = randomBytes(1000 + Math.floor(Math.random() * 9000) + (i % 10 === 0 ? 150_000 : 0));
      writeFileSync(path.join(src, `f${i}.bin`), b);
      expected.set(`f${i}.bin`, sha(b));
    }
    const init = await runCoffer(['vault', 'init', dir, '-p', '--kdf-params', '1:8'], { env });
    expect(init.code, init.stderr).toBe(0);

    // Timing: startup + unlock, and a whole add.
    const ls = await runAndKill(['vault', 'ls', dir]);
    const full = await runAndKill(['vault', 'add', dir, src, '--to', 'batch-full']);
    expect(full.code).toBe(0);
    let committed = (await checkClean()).files;
    expect(committed).toHaveLength(30);
    // The kill window adapts: a run that finished before its kill shows the operation is faster than
    // the window assumed (the machine's load varies), so later kills aim earlier.
    let lo = Math.max(50, ls.ms * 0.7);
    let hi = full.ms * 1.1;
    const narrow = (ms: number): void => {
      hi = Math.max(60, Math.min(hi, ms * 0.9));
      lo = Math.min(lo, hi * 0.6);
    };

    // --- add
    let kills = 0;
    let evidence = 0;
    for (let k = 0; kills < KILLS && k < KILLS * 5; k++) {
      const r = await runAndKill(['vault', 'add', dir, src, '--to', `batch-${k}`], lo + Math.random() * (hi - lo));
      if (r.killed) kills++;
      else narrow(r.ms);
      const after = await checkClean();
      if (after.repaired > 0 || after.evidence) evidence++;
      // Everything committed before is still there; the interrupted batch is all or partly there.
      for (const f of committed) expect(after.files).toContain(f);
      const added = after.files.filter((f) => !committed.includes(f));
      expect(added.every((f) => f.startsWith(`batch-${k}/`))).toBe(true);
      if (!r.killed) expect(added).toHaveLength(30);
      if (k % 5 === 0) await checkContents(after.files);
      else await checkContents(added);
      committed = after.files;
    }
    expect(kills).toBeGreaterThanOrEqual(KILLS);
    // Some kills must have landed mid-operation (leftovers repaired or a partial batch).
    expect(evidence).toBeGreaterThan(0);
    console.log(`add: ${kills} SIGKILLs, ${evidence} left leftovers or a partial batch; ${committed.length} files committed`);

    // --- rotate
    // A rotation writes key wraps, the epoch and the re-signed slots (records are not re-sealed), so
    // its work is a stretch right after the unlock whose length grows with the members: give the vault
    // 16 more members so that stretch is worth aiming at, and aim the kills from late in an unlock.
    const adm = await openV();
    for (let i = 0; i < 16; i++) await adm.grant(X25519Identity.generate().recipient().toString(), { label: `member ${i}` });
    adm.lock();
    const fullRotate = await runAndKill(['vault', 'rotate', dir]);
    expect(fullRotate.code).toBe(0);
    const unlockNow = await runAndKill(['vault', 'ls', dir]);
    lo = Math.max(50, Math.min(unlockNow.ms, fullRotate.ms) * 0.8);
    hi = Math.max(lo + 40, fullRotate.ms * 1.1);
    kills = 0;
    let midRotation = 0;
    for (let k = 0; kills < KILLS && k < KILLS * 5; k++) {
      const r = await runAndKill(['vault', 'rotate', dir], lo + Math.random() * (hi - lo));
      if (r.killed) kills++;
      // A run that finished first moves the window only to end at its length (never below the unlock).
      else hi = Math.max(lo + 40, Math.min(hi, r.ms * 1.05));
      const after = await checkClean();
      if (after.evidence || after.repaired > 0) midRotation++;
      expect(after.files).toEqual(committed);
      if (k % 5 === 0) await checkContents(after.files);
    }
    expect(kills).toBeGreaterThanOrEqual(KILLS);
    expect(midRotation).toBeGreaterThan(0);
    console.log(`rotate: ${kills} SIGKILLs, ${midRotation} interrupted mid-rotation`);
    await checkContents(committed);

    // The CLI agrees, and a finishing rotate leaves no stale records.
    const fin = await runCoffer(['vault', 'rotate', dir], { env });
    expect(fin.code, fin.stderr).toBe(0);
    const verify = await runCoffer(['vault', 'verify', dir, '--json'], { env });
    expect(verify.code, verify.stderr).toBe(0);
    const rep = JSON.parse(verify.stdout.toString()) as { ok: boolean; problems: unknown[] };
    expect(rep.ok).toBe(true);
    expect(rep.problems).toEqual([]);
    expect(readdirSync(path.join(dir, 'tmp')).filter((n) => n !== 'lock')).toEqual([]);
  }, 300_000);
});
