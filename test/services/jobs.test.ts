import { describe, expect, it } from 'vitest';
import { JobManager } from '../../main/services/jobs';
import type { JobInfo } from '../../preload/contract';

describe('JobManager', () => {
  it('reports progress at most every throttle interval, plus every state change', async () => {
    const events: JobInfo[] = [];
    const jm = new JobManager((j) => events.push(j), { throttleMs: 50 });
    const id = jm.start({ kind: 'add', title: 't', vaultId: 'v' }, async (ctl) => {
      ctl.setTotals(1, 1000);
      ctl.fileStart('a', 1000);
      for (let i = 0; i < 1000; i++) ctl.progress(1); // 1000 updates in one tick
      await new Promise((r) => setTimeout(r, 120));
      ctl.fileDone();
    });
    await jm.wait(id);
    const running = events.filter((e) => e.state === 'running');
    expect(running.length).toBeLessThan(10);
    const last = events[events.length - 1] as JobInfo;
    expect(last).toMatchObject({ state: 'done', bytesDone: 1000, bytesTotal: 1000, filesDone: 1, etaSeconds: 0 });
    expect(events.map((e) => e.state)).toContain('queued');
  });

  it('computes throughput and ETA from bytes over time', async () => {
    let t = 0;
    const events: JobInfo[] = [];
    const jm = new JobManager((j) => events.push(j), { throttleMs: 0, now: () => t });
    const id = jm.start({ kind: 'export', title: 'x', vaultId: null }, async (ctl) => {
      ctl.setTotals(1, 10_000_000);
      t = 1000;
      ctl.progress(2_000_000);
      t = 2000;
      ctl.progress(2_000_000);
    });
    await jm.wait(id);
    const mid = events.filter((e) => e.state === 'running').pop() as JobInfo;
    expect(mid.bytesPerSecond).toBe(2_000_000);
    expect(mid.etaSeconds).toBe(3);
  });

  it('cancels running and queued jobs; a cancelled job reports cancelled, not failed', async () => {
    const jm = new JobManager(() => undefined, { concurrency: 1 });
    const a = jm.start({ kind: 'add', title: 'a', vaultId: 'v' }, (ctl) => new Promise((_, rej) => ctl.signal.addEventListener('abort', () => rej(Object.assign(new Error('aborted'), { name: 'AbortError' })))));
    const b = jm.start({ kind: 'add', title: 'b', vaultId: 'v' }, async () => undefined);
    await new Promise((r) => setTimeout(r, 10));
    expect(jm.get(a)?.state).toBe('running');
    expect(jm.get(b)?.state).toBe('queued');
    await jm.cancelAll('v');
    expect(jm.get(a)?.state).toBe('cancelled');
    expect(jm.get(b)?.state).toBe('cancelled');
    expect(jm.get(a)?.error).toBeNull();
  });

  it('runs at most `concurrency` jobs at once and reports failures with their code', async () => {
    const jm = new JobManager(() => undefined, { concurrency: 2 });
    let running = 0;
    let peak = 0;
    const ids = Array.from({ length: 5 }, (_, i) =>
      jm.start({ kind: 'add', title: `j${i}`, vaultId: null }, async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        if (i === 4) throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
      }),
    );
    await Promise.all(ids.map((id) => jm.wait(id)));
    expect(peak).toBe(2);
    expect(jm.get(ids[4] as string)).toMatchObject({ state: 'failed', error: { code: 'IO', message: 'no space left on device' } });
    jm.clearFinished();
    expect(jm.list()).toEqual([]);
  });
});
