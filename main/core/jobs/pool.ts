import { availableParallelism } from 'node:os';
import { CofferError } from '../errors';

/** One worker per core, at least one. */
export function defaultConcurrency(): number {
  return Math.max(1, availableParallelism());
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CofferError('CANCELLED', 'cancelled');
}

/**
 * Runs `fn` over `items` with at most `limit` in flight (clamped to 1…cores). On the first failure
 * or on abort no new items start; in-flight ones finish; then the first error (or CANCELLED) is thrown.
 */
export async function runPool<T>(
  items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>, signal?: AbortSignal,
): Promise<void> {
  return runConcurrent(items, Math.min(limit, defaultConcurrency()), fn, signal);
}

/**
 * Like runPool but not clamped to the number of cores: for I/O-bound steps (reading records,
 * fsyncing many small files), whose waiting happens in the OS, not on a core.
 */
export async function runConcurrent<T>(
  items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>, signal?: AbortSignal,
): Promise<void> {
  const n = Math.max(1, Math.min(limit, items.length || 1));
  let next = 0;
  let failure: unknown = null;
  const worker = async (): Promise<void> => {
    while (failure === null && next < items.length) {
      if (signal?.aborted) {
        failure ??= new CofferError('CANCELLED', 'cancelled');
        return;
      }
      const i = next++;
      try {
        await fn(items[i] as T, i);
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
  if (failure !== null) throw failure;
  throwIfAborted(signal);
}
