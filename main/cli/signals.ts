/**
 * SIGINT and SIGTERM during commands that write plaintext or vault objects (`decrypt -o`, `encrypt -o`,
 * `vault get`, `vault add`): the work is cancelled through its AbortSignal, its own cleanup runs (partial
 * output and staged vault objects removed), and the command ends with one `coffer: ` line and the
 * conventional status (130 for SIGINT, 143 for SIGTERM). Cleanups registered with `onSignal` also run at
 * once, synchronously, so a second signal, which exits immediately, still leaves nothing behind.
 * SIGKILL cannot be caught: what it leaves (partial files named with host and pid) is swept by the
 * next run (sweepPartials beside an output, FsStorage.sweepTemp in a vault's tmp/).
 */
import { CofferError } from '../core/errors';

export type CaughtSignal = 'SIGINT' | 'SIGTERM';

const STATUS: Record<CaughtSignal, number> = { SIGINT: 130, SIGTERM: 143 };

/** The command was stopped by a signal; its cleanup has run. runCli exits with `status`. */
export class Interrupted extends CofferError {
  readonly status: number;
  constructor(readonly signal: CaughtSignal) {
    super('CANCELLED', `interrupted (${signal}); nothing partial was left behind`);
    this.status = STATUS[signal];
  }
}

export interface SignalScope {
  /** Aborted at the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** Registers a synchronous cleanup (e.g. unlinkSync of a partial file) run at the first signal; returns its removal. */
  onSignal(cleanup: () => void): () => void;
}

/**
 * Runs `work` with SIGINT and SIGTERM caught. If a signal arrives and `work` then fails (cancelled), the
 * result is an Interrupted error, thrown once `work` has settled and its cleanup is done; a second signal
 * runs the registered cleanups and exits at once.
 */
export async function interruptible<T>(work: (scope: SignalScope) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const cleanups = new Set<() => void>();
  let caught: CaughtSignal | null = null;
  const runCleanups = (): void => {
    for (const c of [...cleanups]) {
      try {
        c();
      } catch {
        /* best effort: the next run sweeps what is left */
      }
    }
  };
  const handler = (sig: CaughtSignal): void => {
    if (caught !== null) {
      runCleanups();
      process.exit(STATUS[sig]);
    }
    caught = sig;
    runCleanups();
    ac.abort(new CofferError('CANCELLED', `interrupted (${sig})`));
  };
  const onInt = (): void => handler('SIGINT');
  const onTerm = (): void => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const r = await work({
      signal: ac.signal,
      onSignal: (c) => {
        cleanups.add(c);
        return () => cleanups.delete(c);
      },
    });
    return r; // finished before the signal took effect: the output is complete and stays
  } catch (e) {
    if (caught !== null) throw new Interrupted(caught);
    throw e;
  } finally {
    process.removeListener('SIGINT', onInt);
    process.removeListener('SIGTERM', onTerm);
  }
}
