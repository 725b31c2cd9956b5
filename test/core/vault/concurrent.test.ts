import { describe, expect, it, afterEach } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { openVault } from '../../../main/core/vault';
import { newVault, open, paths, sandbox, type Sandbox } from './helpers';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

const root = path.resolve(__dirname, '../../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');

function run(args: string[], child = 'writer-child.ts'): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const p = spawn(tsx, [path.join(__dirname, child), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.on('close', (code) => resolve({ code, stderr, stdout }));
  });
}

describe('two processes writing one vault at once', () => {
  it('lose no update', async () => {
    sb = sandbox();
    const { vault } = await newVault(sb, { passphrase: 'pw' });
    await vault.mkdir('shared');
    vault.lock();
    const N = 15;
    const srcA = path.join(sb.base, 'srcA');
    const srcB = path.join(sb.base, 'srcB');
    mkdirSync(srcA);
    mkdirSync(srcB);
    const [a, b] = await Promise.all([
      run([sb.dir, path.join(sb.base, 'stateA'), 'A', String(N), srcA]),
      run([sb.dir, path.join(sb.base, 'stateB'), 'B', String(N), srcB]),
    ]);
    expect(a.stderr).toBe('');
    expect(b.stderr).toBe('');
    expect([a.code, b.code]).toEqual([0, 0]);
    const v = await open(sb, { passphrase: 'pw' });
    const all = paths(v);
    for (const tag of ['A', 'B']) {
      for (let i = 0; i < N; i++) expect(all).toContain(`shared/${tag}-${i}.txt`);
      for (let i = 0; i < N; i += 7) expect(all).toContain(`${tag}-dir-${i}/`);
    }
    // The shared file was replaced 6 times in all; each replacement is a new version, none lost.
    expect(v.stat('shared/common.txt')?.version).toBe(2 * Math.ceil(N / 5));
    const rep = await v.verify();
    expect(rep.problems.filter((p) => p.severity !== 'info')).toEqual([]);
    // Every file's blob, plus the replaced versions of the shared file: kept as previous versions (or, beyond
    // the count kept, released and awaiting collection after the sync grace), none deleted under a writer.
    const replacedVersions = 2 * Math.ceil(N / 5) - 1;
    expect(v.versions('shared/common.txt')).toHaveLength(1 + Math.min(replacedVersions, v.retention.versions));
    expect(rep.blobs).toBe(2 * N + 1 + replacedVersions);
    v.lock();
  }, 120_000);

  it('collection running beside two writers deletes only released content: nothing current is lost', async () => {
    sb = sandbox();
    const { vault } = await newVault(sb, { passphrase: 'pw' });
    await vault.mkdir('shared');
    // No versions kept: every replacement releases the old blob at once, and the collector (its clock ten
    // days ahead, past the sync grace) deletes released blobs while the writers keep replacing.
    await vault.setRetention({ days: 30, versions: 0 });
    vault.lock();
    const N = 15;
    const srcA = path.join(sb.base, 'srcA');
    const srcB = path.join(sb.base, 'srcB');
    mkdirSync(srcA);
    mkdirSync(srcB);
    const [a, b, c] = await Promise.all([
      run([sb.dir, path.join(sb.base, 'stateA'), 'A', String(N), srcA]),
      run([sb.dir, path.join(sb.base, 'stateB'), 'B', String(N), srcB]),
      run([sb.dir, path.join(sb.base, 'stateC'), '40'], 'collector-child.ts'),
    ]);
    expect([a.stderr, b.stderr, c.stderr]).toEqual(['', '', '']);
    expect([a.code, b.code, c.code]).toEqual([0, 0, 0]);
    const v = await open(sb, { passphrase: 'pw' });
    const all = paths(v);
    for (const tag of ['A', 'B']) for (let i = 0; i < N; i++) expect(all).toContain(`shared/${tag}-${i}.txt`);
    // Every current file decrypts in full (verify), so no blob a record names was collected.
    const rep = await v.verify();
    expect(rep.problems.filter((p) => p.severity === 'error')).toEqual([]);
    v.lock();
    // And what is left released is collected: only the current content's blobs remain.
    const later = await openVault(sb.dir, { credentials: { passphrase: 'pw' }, stateDir: sb.state, clock: () => Date.now() + 10 * 86_400_000 });
    await later.collect();
    expect(readdirSync(path.join(sb.dir, 'blobs'))).toHaveLength(2 * N + 1);
    expect((await later.verify()).ok).toBe(true);
    later.lock();
  }, 180_000);
});
