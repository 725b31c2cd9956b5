/**
 * Browser shell: a vault folder downloaded as one .zip (what a person expects from a web app's
 * "download folder": one file the system unpacks, names and sub-folders kept). Built with yazl as the
 * bytes are decrypted: one file at a time, stored (no compression: vault content is often already
 * compressed, and the length is then known before the first byte), with backpressure to the HTTP
 * response, so memory stays constant and nothing is written to disk. ZIP64 where sizes need it.
 */
import { PassThrough, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ZipFile } from 'yazl';
import { CofferError } from '../core/errors';
import type { OpenVault, TransferProgress } from './vault-port';

/** More entries than this in one folder download is refused (export smaller folders, or use `coffer vault get`). */
export const ZIP_MAX_ENTRIES = 100_000;

interface Item {
  readonly path: string;
  readonly rel: string;
  readonly size: number;
  readonly mtime: Date;
}

/**
 * Streams the folder `dir` of `vault` into `out` as a zip whose one top-level folder is `top` (the
 * folder's name, as web apps' folder downloads do). `onLength` gets the exact byte length of the zip
 * before the first byte is written (or -1 when it cannot be known).
 */
export async function zipFolder(vault: OpenVault, dir: string, top: string, out: Writable, onLength: (bytes: number) => void, ctl: TransferProgress): Promise<void> {
  const files: Item[] = [];
  const dirs: Item[] = [];
  const walk = async (p: string, rel: string): Promise<void> => {
    for (const e of await vault.list(p)) {
      if (files.length + dirs.length >= ZIP_MAX_ENTRIES) throw new CofferError('USAGE', `this folder holds more than ${ZIP_MAX_ENTRIES} items: download smaller folders, or use \`coffer vault get\``);
      const r = rel ? `${rel}/${e.name}` : e.name;
      const item = { path: e.path, rel: r, size: e.size ?? 0, mtime: e.mtime ? new Date(e.mtime) : new Date() };
      if (e.type === 'dir') {
        dirs.push(item);
        await walk(e.path, r);
      } else files.push(item);
    }
  };
  dirs.push({ path: dir, rel: top, size: 0, mtime: new Date() });
  await walk(dir, top);
  if (ctl.signal.aborted) throw new CofferError('CANCELLED', 'cancelled');
  const total = files.reduce((a, f) => a + f.size, 0);
  const n = files.length;
  let done = 0;
  let base = 0;
  let failure: unknown = null;
  const zip = new ZipFile();
  const fail = (e: unknown): void => {
    failure ??= e;
    (zip.outputStream as PassThrough).destroy(e instanceof Error ? e : new Error(String(e)));
  };
  zip.on('error', fail);
  for (const d of dirs) zip.addEmptyDirectory(d.rel, { mtime: d.mtime });
  for (const f of files) {
    zip.addReadStreamLazy(f.rel, { size: f.size, mtime: f.mtime, compress: false }, (cb) => {
      // Called when the zip reaches this file: decrypt it now (one file at a time).
      const pass = new PassThrough();
      const start = base;
      const part: TransferProgress = {
        ...ctl,
        report: (p) => ctl.report({ filesDone: done, filesTotal: n, bytesDone: start + p.bytesDone, bytesTotal: total, current: f.path }),
      };
      vault.readTo(f.path, pass, part).then(() => {
        done++;
        base += f.size;
      }, fail);
      cb(null, pass);
    });
  }
  ctl.report({ filesDone: 0, filesTotal: n, bytesDone: 0, bytesTotal: total, current: null });
  const length = await new Promise<number>((resolve) => {
    (zip.end as (o: object, cb: (bytes: number) => void) => void).call(zip, {}, (bytes: number) => resolve(bytes));
  });
  onLength(length);
  try {
    await pipeline(zip.outputStream as PassThrough, out, { signal: ctl.signal });
  } catch (e) {
    throw failure ?? e;
  }
  if (failure) throw failure;
  ctl.report({ filesDone: n, filesTotal: n, bytesDone: total, bytesTotal: total, current: null });
}
