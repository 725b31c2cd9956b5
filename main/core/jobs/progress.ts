/**
 * Progress for long operations: files and bytes done out of totals, throughput and ETA, emitted at
 * most once per `intervalMs` (100 ms: 10 times a second) plus a final report from `finish()`.
 */
export interface Progress {
  readonly filesDone: number;
  readonly filesTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** The item being worked on, for display (a vault path or file name); never key material. */
  readonly current: string | null;
  /** Bytes per second over the last few seconds. */
  readonly bytesPerSecond: number;
  /** Estimated seconds left, or null when unknown. */
  readonly etaSeconds: number | null;
}

export type ProgressListener = (p: Progress) => void;

export interface ProgressOptions {
  readonly intervalMs?: number;
  readonly now?: () => number;
}

export class ProgressTracker {
  private filesDone = 0;
  private filesTotal = 0;
  private bytesDone = 0;
  private bytesTotal = 0;
  private current: string | null = null;
  private lastEmit = -Infinity;
  private readonly samples: { t: number; bytes: number }[] = [];
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(private readonly listener: ProgressListener | undefined, opts: ProgressOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 100;
    this.now = opts.now ?? Date.now;
  }

  setTotals(files: number, bytes: number): void {
    this.filesTotal = files;
    this.bytesTotal = bytes;
    this.maybeEmit();
  }

  setCurrent(name: string | null): void {
    this.current = name;
  }

  addBytes(n: number): void {
    this.bytesDone += n;
    this.maybeEmit();
  }

  fileDone(): void {
    this.filesDone++;
    this.maybeEmit();
  }

  snapshot(): Progress {
    const t = this.now();
    this.samples.push({ t, bytes: this.bytesDone });
    while (this.samples.length > 2 && t - (this.samples[0] as { t: number }).t > 5000) this.samples.shift();
    const first = this.samples[0] as { t: number; bytes: number };
    const dt = (t - first.t) / 1000;
    const bps = dt > 0 ? (this.bytesDone - first.bytes) / dt : 0;
    const left = this.bytesTotal - this.bytesDone;
    return {
      filesDone: this.filesDone,
      filesTotal: this.filesTotal,
      bytesDone: this.bytesDone,
      bytesTotal: this.bytesTotal,
      current: this.current,
      bytesPerSecond: Math.round(bps),
      etaSeconds: bps > 0 && left >= 0 ? Math.round(left / bps) : null,
    };
  }

  private maybeEmit(): void {
    if (!this.listener) return;
    const t = this.now();
    if (t - this.lastEmit < this.intervalMs) return;
    this.lastEmit = t;
    this.listener(this.snapshot());
  }

  /** Emits the final state regardless of the rate limit. */
  finish(): Progress {
    const p = this.snapshot();
    this.lastEmit = this.now();
    this.listener?.(p);
    return p;
  }
}
