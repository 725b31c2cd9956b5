/**
 * Batch durability: making many just-written files durable with one sync instead of one per file.
 *
 * On Linux one syncfs(2) per filesystem (`sync -f PATH`, coreutils; Node has no syncfs binding) flushes
 * everything written there in one go, several times faster than one fdatasync per small file (each of
 * which commits the journal). Elsewhere, for a few files, or if `sync -f` is unavailable, each file is
 * fdatasynced, many at once on libuv's thread pool.
 *
 * Callers write a batch of new files under names nobody reads (temp or partial names), sync them here,
 * and only then rename them to their final names (then sync the folders): a crash at any instant leaves
 * complete content under a final name, or the old state, and never a file that the crash truncated.
 */
import { constants as fsc } from 'node:fs';
import { open } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { runConcurrent } from '../jobs/pool';

const SYNC_FLAGS = fsc.O_RDWR | (fsc.O_NOFOLLOW ?? 0);

/** Whether `sync -f` (syncfs) works here: unknown until first tried. */
let syncfsWorks: boolean | undefined;

/** Below this many files, one fdatasync each is as cheap as a filesystem-wide sync. */
const SYNCFS_FROM = 16;

async function datasync(file: string): Promise<void> {
  const fh = await open(file, SYNC_FLAGS);
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** syncfs of each filesystem holding one of `places` (one `sync -f` call); false if that failed. */
function syncfs(places: readonly string[]): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    execFile('sync', ['-f', ...places], { timeout: 120_000 }, (err) => resolve(!err));
  });
}

/**
 * Makes the data of `files` durable. `places` names one folder on each filesystem the files are on
 * (used by syncfs; a file elsewhere would not be covered, so callers list every filesystem they wrote to).
 */
export async function syncBatch(files: readonly string[], places: readonly string[]): Promise<void> {
  if (files.length === 0) return;
  if (files.length >= SYNCFS_FROM && places.length > 0 && process.platform === 'linux' && syncfsWorks !== false) {
    if (await syncfs(places)) {
      syncfsWorks = true;
      return;
    }
    syncfsWorks = false;
  }
  await runConcurrent(files, 32, (p) => datasync(p));
}
