/**
 * A queue of long operations (jobs). At most `concurrency` jobs run at once (default: one per core);
 * each gets an AbortSignal and a ProgressTracker whose reports reach listeners at most 10 times a
 * second. Cancelling a queued job removes it; cancelling a running one aborts its signal, and the
 * operation itself guarantees nothing half-written remains.
 */
import { EventEmitter } from 'node:events';
import { CofferError, toErrorInfo, type ErrorCode } from '../errors';
import { defaultConcurrency } from './pool';
import { ProgressTracker, type Progress } from './progress';

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface JobSnapshot {
  readonly id: string;
  readonly kind: string;
  readonly title: string;
  readonly state: JobState;
  readonly progress: Progress | null;
  readonly error: { readonly code: ErrorCode; readonly message: string } | null;
}

export interface JobContext {
  readonly signal: AbortSignal;
  readonly progress: ProgressTracker;
}

export interface JobHandle<T> {
  readonly id: string;
  /** Settles when the job finishes: resolves with its result, rejects with its error (CANCELLED on cancel). */
  readonly result: Promise<T>;
  cancel(): void;
}

interface Entry {
  snap: JobSnapshot;
  controller: AbortController;
  start: () => void;
  fail: (e: unknown) => void;
}

export interface JobQueueEvents {
  /** Any state change or (throttled) progress. */
  update: [JobSnapshot];
}

export class JobQueue extends EventEmitter<JobQueueEvents> {
  private readonly jobs = new Map<string, Entry>();
  private readonly waiting: string[] = [];
  private running = 0;
  private seq = 0;
  readonly concurrency: number;
  private readonly intervalMs: number;

  constructor(opts: { concurrency?: number; progressIntervalMs?: number } = {}) {
    super();
    this.concurrency = Math.max(1, Math.min(opts.concurrency ?? defaultConcurrency(), defaultConcurrency()));
    this.intervalMs = opts.progressIntervalMs ?? 100;
  }

  private set(e: Entry, patch: Partial<JobSnapshot>): void {
    e.snap = { ...e.snap, ...patch };
    this.emit('update', e.snap);
  }

  enqueue<T>(kind: string, title: string, run: (ctx: JobContext) => Promise<T>): JobHandle<T> {
    const id = `job-${++this.seq}`;
    const controller = new AbortController();
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const result = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
    result.catch(() => undefined); // callers may ignore the result; errors are also in the snapshot
    const entry: Entry = {
      snap: { id, kind, title, state: 'queued', progress: null, error: null },
      controller,
      fail: (e) => reject(e),
      start: () => {
        this.running++;
        this.set(entry, { state: 'running' });
        const tracker = new ProgressTracker((p) => this.set(entry, { progress: p }), { intervalMs: this.intervalMs });
        run({ signal: controller.signal, progress: tracker }).then(
          (v) => {
            this.set(entry, { state: 'done', progress: tracker.snapshot() });
            resolve(v);
          },
          (e: unknown) => {
            const info = toErrorInfo(e);
            const cancelled = controller.signal.aborted || info.code === 'CANCELLED';
            this.set(entry, { state: cancelled ? 'cancelled' : 'failed', error: cancelled ? { code: 'CANCELLED', message: 'cancelled' } : info });
            reject(e);
          },
        ).finally(() => {
          this.running--;
          this.pump();
        });
      },
    };
    this.jobs.set(id, entry);
    this.waiting.push(id);
    this.emit('update', entry.snap);
    queueMicrotask(() => this.pump());
    return {
      id,
      result,
      cancel: () => this.cancel(id),
    };
  }

  cancel(id: string): boolean {
    const e = this.jobs.get(id);
    if (!e) return false;
    if (e.snap.state === 'queued') {
      const i = this.waiting.indexOf(id);
      if (i >= 0) this.waiting.splice(i, 1);
      e.controller.abort();
      this.set(e, { state: 'cancelled', error: { code: 'CANCELLED', message: 'cancelled' } });
      e.fail(new CofferError('CANCELLED', 'cancelled'));
      return true;
    }
    if (e.snap.state === 'running') {
      e.controller.abort();
      return true;
    }
    return false;
  }

  list(): JobSnapshot[] {
    return [...this.jobs.values()].map((e) => e.snap);
  }

  get(id: string): JobSnapshot | undefined {
    return this.jobs.get(id)?.snap;
  }

  private pump(): void {
    while (this.running < this.concurrency && this.waiting.length > 0) {
      const id = this.waiting.shift() as string;
      const e = this.jobs.get(id);
      if (e && e.snap.state === 'queued') e.start();
    }
  }
}
