import { describe, expect, it, afterEach } from 'vitest';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { JobQueue, type JobSnapshot } from '../../../main/core/jobs';
import { makeTree, newVault, open, sandbox, type Sandbox } from '../vault/helpers';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

describe('vault operations as jobs', () => {
  it('reports progress at most 10 times a second and can be cancelled, leaving a clean vault', async () => {
    sb = sandbox();
    const { vault } = await newVault(sb);
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 60; i++) files[`f${i}.bin`] = randomBytes(700_000);
    makeTree(path.join(sb.base, 'src'), files);
    const q = new JobQueue({ concurrency: 1 });
    const updates: JobSnapshot[] = [];
    q.on('update', (s) => updates.push(s));
    const t0 = Date.now();
    const add = q.enqueue('add', 'Adding 60 files', ({ signal, progress }) => vault.add([path.join(sb.base, 'src')], 'a', {
      signal, onProgress: (p) => { progress.setTotals(p.filesTotal, p.bytesTotal); progress.addBytes(p.bytesDone - progress.snapshot().bytesDone); },
    }));
    const r = await add.result;
    const seconds = (Date.now() - t0) / 1000;
    expect(r.files).toBe(60);
    const progressEvents = updates.filter((u) => u.id === add.id && u.state === 'running' && u.progress).length;
    expect(progressEvents).toBeGreaterThan(0);
    expect(progressEvents).toBeLessThanOrEqual(Math.ceil(seconds * 10) + 2);

    let cancelled = false;
    const second = q.enqueue('add', 'Adding again', ({ signal }) => vault.add([path.join(sb.base, 'src')], 'b', {
      signal, concurrency: 1,
      onProgress: (p) => {
        if (p.filesDone >= 1 && !cancelled) {
          cancelled = true;
          second.cancel();
        }
      },
    }));
    await expect(second.result).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(q.get(second.id)?.state).toBe('cancelled');
    vault.lock();
    const v = await open(sb, { passphrase: 'correct horse' });
    const rep = await v.verify();
    expect(rep.ok).toBe(true);
    expect(rep.problems.filter((p) => p.code === 'LEFTOVER')).toEqual([]);
    expect(v.list('a/src')).toHaveLength(60);
    v.lock();
  });
});
