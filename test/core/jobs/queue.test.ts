import { describe, expect, it } from 'vitest';
import { availableParallelism } from 'node:os';
import { JobQueue, ProgressTracker, runPool, defaultConcurrency, type JobSnapshot } from '../../../main/core/jobs';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('ProgressTracker', () => {
  it('emits at most once per interval, plus the final report', () => {
    let t = 0;
    const seen: number[] = [];
    const p = new ProgressTracker((x) => seen.push(x.bytesDone), { intervalMs: 100, now: () => t });
    p.setTotals(10, 1000);
    for (let i = 0; i < 100; i++) {
      t += 5; // 100 updates over 500 ms
      p.addBytes(10);
    }
    expect(seen.length).toBeLessThanOrEqual(6); // 500 ms at ≤ 10/s, plus the first
    const last = p.finish();
    expect(last.bytesDone).toBe(1000);
    expect(seen[seen.length - 1]).toBe(1000);
  });

  it('computes throughput and an ETA', () => {
    let t = 0;
    const p = new ProgressTracker(undefined, { now: () => t });
    p.setTotals(1, 2000);
    p.snapshot();
    t = 1000;
    p.addBytes(1000);
    const s = p.snapshot();
    expect(s.bytesPerSecond).toBe(1000);
    expect(s.etaSeconds).toBe(1);
  });
});

describe('runPool', () => {
  it('never runs more than the limit (and never more than one per core)', async () => {
    let running = 0;
    let peak = 0;
    await runPool(Array.from({ length: 20 }, (_, i) => i), 64, async () => {
      running++;
      peak = Math.max(peak, running);
      await sleep(5);
      running--;
    });
    expect(peak).toBe(Math.min(64, availableParallelism()));
    expect(defaultConcurrency()).toBe(availableParallelism());
  });

  it('stops on abort with CANCELLED and on the first error', async () => {
    const ac = new AbortController();
    let done = 0;
    await expect(runPool(Array.from({ length: 50 }, (_, i) => i), 1, async (i) => {
      if (i === 3) ac.abort();
      done++;
      await sleep(1);
    }, ac.signal)).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(done).toBe(4);
    await expect(runPool([1, 2, 3], 1, async (i) => {
      if (i === 2) throw new Error('boom');
      await sleep(1);
    })).rejects.toThrow('boom');
  });
});

describe('JobQueue', () => {
  it('runs jobs with bounded concurrency, reports progress and results', async () => {
    const q = new JobQueue({ concurrency: 1, progressIntervalMs: 0 });
    const updates: JobSnapshot[] = [];
    q.on('update', (s) => updates.push(s));
    const a = q.enqueue('add', 'first', async ({ progress }) => {
      progress.setTotals(1, 10);
      progress.addBytes(10);
      progress.fileDone();
      await sleep(10);
      return 'A';
    });
    const b = q.enqueue('add', 'second', async () => 'B');
    expect(q.get(b.id)?.state).toBe('queued');
    await expect(a.result).resolves.toBe('A');
    await expect(b.result).resolves.toBe('B');
    expect(q.get(a.id)?.state).toBe('done');
    expect(q.get(a.id)?.progress?.bytesDone).toBe(10);
    const states = updates.filter((u) => u.id === a.id).map((u) => u.state);
    expect(states[0]).toBe('queued');
    expect(states).toContain('running');
    expect(states[states.length - 1]).toBe('done');
  });

  it('cancels a running job through its AbortSignal and a queued one before it starts', async () => {
    const q = new JobQueue({ concurrency: 1 });
    let started = 0;
    const running = q.enqueue('add', 'long', ({ signal }) => new Promise<void>((_res, rej) => {
      started++;
      signal.addEventListener('abort', () => rej(Object.assign(new Error('aborted'), { name: 'AbortError' })));
    }));
    const queued = q.enqueue('add', 'never', async () => { started++; });
    await sleep(5);
    queued.cancel();
    running.cancel();
    await expect(running.result).rejects.toThrow();
    await expect(queued.result).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(q.get(running.id)?.state).toBe('cancelled');
    expect(q.get(queued.id)?.state).toBe('cancelled');
    expect(started).toBe(1);
  });

  it('records failures with a code and message', async () => {
    const q = new JobQueue();
    const j = q.enqueue('verify', 'bad', async () => {
      throw Object.assign(new Error('gone'), { code: 'ENOENT', path: '/x' });
    });
    await expect(j.result).rejects.toThrow();
    expect(q.get(j.id)).toMatchObject({ state: 'failed', error: { code: 'NOT_FOUND' } });
  });
});
