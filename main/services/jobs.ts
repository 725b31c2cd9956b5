/**
 * Long operations (add, export, open, re-encrypt) as jobs: queued, at most `concurrency` running,
 * cancellable through an AbortSignal, with progress (files, bytes, MB/s, ETA) reported at most
 * every `throttleMs` (10 times a second by default) plus once at every state change.
 */
import { availableParallelism } from 'node:os';
import { toErrorInfo } from '../core/errors';
import type { JobInfo } from '../../preload/contract';

export type JobKind = JobInfo['kind'];

export interface JobControl {
  readonly signal: AbortSignal;
  setTotals(files: number, bytes: number): void;
  fileStart(name: string, size: number): void;
  /** Adds processed bytes (of the current file and the total). */
  progress(bytes: number): void;
  fileDone(): void;
  /** Absolute progress from a core ProgressTracker (replaces the counters above). */
  report(p: AbsoluteProgress): void;
}

export interface AbsoluteProgress {
  readonly filesDone: number;
  readonly filesTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly current: string | null;
}

export interface JobSpec {
  kind: JobKind;
  title: string;
  vaultId: string | null;
  /** The name (or count) and vault the title speaks of, for the window's own wording. */
  subject?: JobInfo['subject'];
}

interface JobState {
  info: JobInfo;
  controller: AbortController;
  run: (ctl: JobControl) => Promise<void>;
  lastEmit: number;
  timer: NodeJS.Timeout | null;
  samples: { t: number; bytes: number }[];
  done: Promise<void>;
  resolveDone: () => void;
}

export interface JobManagerOptions {
  concurrency?: number;
  throttleMs?: number;
  now?: () => number;
}

export class JobManager {
  private readonly jobs = new Map<string, JobState>();
  private readonly queue: string[] = [];
  private running = 0;
  private seq = 0;
  private readonly concurrency: number;
  private readonly throttleMs: number;
  private readonly now: () => number;

  constructor(private readonly emit: (job: JobInfo) => void, opts: JobManagerOptions = {}) {
    this.concurrency = Math.max(1, opts.concurrency ?? availableParallelism());
    this.throttleMs = opts.throttleMs ?? 100;
    this.now = opts.now ?? Date.now;
  }

  start(spec: JobSpec, run: (ctl: JobControl) => Promise<void>): string {
    const id = `job-${++this.seq}`;
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const info: JobInfo = {
      id,
      kind: spec.kind,
      title: spec.title,
      subject: spec.subject ?? null,
      vaultId: spec.vaultId,
      state: 'queued',
      filesDone: 0,
      filesTotal: 0,
      bytesDone: 0,
      bytesTotal: 0,
      currentFile: null,
      currentFileBytesDone: 0,
      currentFileBytesTotal: 0,
      bytesPerSecond: 0,
      etaSeconds: null,
      error: null,
      startedAt: this.now(),
      finishedAt: null,
    };
    this.jobs.set(id, { info, controller: new AbortController(), run, lastEmit: 0, timer: null, samples: [], done, resolveDone });
    this.queue.push(id);
    this.emitNow(id);
    this.pump();
    return id;
  }

  list(): JobInfo[] {
    return [...this.jobs.values()].map((j) => ({ ...j.info }));
  }

  get(id: string): JobInfo | undefined {
    const j = this.jobs.get(id);
    return j ? { ...j.info } : undefined;
  }

  /** Resolves when the job has finished (done, failed or cancelled). */
  wait(id: string): Promise<void> {
    return this.jobs.get(id)?.done ?? Promise.resolve();
  }

  cancel(id: string): boolean {
    const j = this.jobs.get(id);
    if (!j || j.info.state === 'done' || j.info.state === 'failed' || j.info.state === 'cancelled') return false;
    j.controller.abort();
    if (j.info.state === 'queued') {
      const i = this.queue.indexOf(id);
      if (i >= 0) this.queue.splice(i, 1);
      this.finish(j, 'cancelled', null);
    }
    return true;
  }

  /** Cancels every job of one vault (on lock) or all jobs; resolves when they have stopped. */
  async cancelAll(vaultId?: string): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const [id, j] of this.jobs) {
      if (vaultId !== undefined && j.info.vaultId !== vaultId) continue;
      if (this.cancel(id)) waits.push(j.done);
    }
    await Promise.all(waits);
  }

  clearFinished(): void {
    for (const [id, j] of this.jobs) if (j.info.finishedAt !== null) this.jobs.delete(id);
  }

  private pump(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const id = this.queue.shift() as string;
      const j = this.jobs.get(id);
      if (!j || j.info.state !== 'queued') continue;
      this.running++;
      void this.execute(j).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async execute(j: JobState): Promise<void> {
    const info = j.info;
    info.state = 'running';
    info.startedAt = this.now();
    j.samples = [{ t: info.startedAt, bytes: 0 }];
    this.emitNow(info.id);
    const ctl: JobControl = {
      signal: j.controller.signal,
      setTotals: (files, bytes) => {
        info.filesTotal = files;
        info.bytesTotal = bytes;
        this.tick(j);
      },
      fileStart: (name, size) => {
        info.currentFile = name;
        info.currentFileBytesDone = 0;
        info.currentFileBytesTotal = size;
        this.tick(j);
      },
      progress: (bytes) => {
        info.bytesDone += bytes;
        info.currentFileBytesDone += bytes;
        this.tick(j);
      },
      fileDone: () => {
        info.filesDone++;
        this.tick(j);
      },
      report: (p) => {
        if (p.current !== null && p.current !== info.currentFile) {
          info.currentFile = p.current;
          info.currentFileBytesDone = 0;
        }
        info.currentFileBytesDone += Math.max(0, p.bytesDone - info.bytesDone);
        info.filesDone = p.filesDone;
        info.filesTotal = p.filesTotal;
        info.bytesDone = p.bytesDone;
        info.bytesTotal = p.bytesTotal;
        // Per-file size is known when the job is one file; otherwise the bar shows the total only.
        info.currentFileBytesTotal = p.filesTotal === 1 ? p.bytesTotal : 0;
        this.tick(j);
      },
    };
    try {
      await j.run(ctl);
      if (j.controller.signal.aborted) this.finish(j, 'cancelled', null);
      else this.finish(j, 'done', null);
    } catch (e) {
      const err = toErrorInfo(e);
      if (j.controller.signal.aborted || err.code === 'CANCELLED') this.finish(j, 'cancelled', null);
      else this.finish(j, 'failed', err);
    }
  }

  private finish(j: JobState, state: 'done' | 'failed' | 'cancelled', error: JobInfo['error']): void {
    j.info.state = state;
    j.info.error = error;
    j.info.finishedAt = this.now();
    j.info.etaSeconds = state === 'done' ? 0 : null;
    if (state === 'done') j.info.currentFile = null;
    if (j.timer) clearTimeout(j.timer);
    j.timer = null;
    this.emitNow(j.info.id);
    j.resolveDone();
  }

  private tick(j: JobState): void {
    const t = this.now();
    const since = t - j.lastEmit;
    if (since >= this.throttleMs) {
      this.emitNow(j.info.id);
    } else if (!j.timer) {
      j.timer = setTimeout(() => {
        j.timer = null;
        if (j.info.state === 'running') this.emitNow(j.info.id);
      }, this.throttleMs - since);
    }
  }

  private emitNow(id: string): void {
    const j = this.jobs.get(id);
    if (!j) return;
    const t = this.now();
    j.lastEmit = t;
    const info = j.info;
    if (info.state === 'running') {
      // Throughput over the last ~3 seconds.
      j.samples.push({ t, bytes: info.bytesDone });
      while (j.samples.length > 2 && t - (j.samples[0]?.t ?? t) > 3000) j.samples.shift();
      const first = j.samples[0] ?? { t: info.startedAt, bytes: 0 };
      const dt = (t - first.t) / 1000;
      info.bytesPerSecond = dt > 0 ? Math.max(0, (info.bytesDone - first.bytes) / dt) : 0;
      const remaining = info.bytesTotal - info.bytesDone;
      info.etaSeconds = info.bytesPerSecond > 0 && info.bytesTotal > 0 ? Math.max(0, remaining / info.bytesPerSecond) : null;
    }
    this.emit({ ...info });
  }
}
