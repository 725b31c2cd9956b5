import { describe, expect, it, afterEach } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { newVault, open, paths, sandbox, type Sandbox } from './helpers';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

const root = path.resolve(__dirname, '../../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(tsx, [path.join(__dirname, 'writer-child.ts'), ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('close', (code) => resolve({ code, stderr }));
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
});
