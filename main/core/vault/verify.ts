/**
 * `verify`: authenticates every record and decrypts every blob (current content and previous
 * versions), reports problems by path, and lists leftovers; `repair` removes only what is proven
 * to be coffer's own leftover of a dead process on this host.
 */
import { Writable } from 'node:stream';
import { CofferError, isCofferError } from '../errors';
import { defaultConcurrency, runPool } from '../jobs/pool';
import { ProgressTracker } from '../jobs/progress';
import type { VaultCore } from './core';
import { decryptBlobTo } from './get';
import { BLOBS, KEYS, RECORDS, blobKey, epochKey } from './layout';
import { HEX32, parseObjectName } from './names';
import { load } from './open';
import type { RecordNode } from './records';
import { TMP_FOLDER, ownTempKind, ownerOf, pidAlive, thisHost } from './storage';
import { getTree } from './tree';
import type { OpProgress, RecordBody, VaultProblem, VerifyReport } from './types';
import { isLive, liveBlobs, namedBlobs } from './versions';

/**
 * Authenticates every record and every blob (full decryption), and reports problems by path.
 * With `repair`, removes only leftovers proven unreferenced: temp files and intents of dead
 * processes on this host, blobs and key wraps that such an intent created and nothing references.
 */
export async function verify(c: VaultCore, opts: OpProgress & { repair?: boolean } = {}): Promise<VerifyReport> {
  c.ensureOpen();
  // Repair first removes this host's temp files of dead processes, before taking the lock (whose
  // file needs space when a killed writer filled the disk), and reports them.
  const swept = opts.repair ? ((await c.storage.sweepTemp?.()) ?? []) : [];
  const release = await c.storage.lock();
  try {
    await load(c);
    const problems: VaultProblem[] = [...c.loadProblems];
    const repaired: string[] = [...swept];
    const tree = getTree(c);
    const pathOf = (n: RecordNode): string | null => tree.infoByFile.get(n.file)?.path ?? null;
    // Records: conflicts, orphans. (Records under older epochs of the history are normal: rotation does
    // not re-seal them.)
    for (const n of c.index.records.values()) {
      const info = tree.infoByFile.get(n.file);
      if (info?.conflict) {
        problems.push({ severity: 'warning', code: 'CONFLICT', object: `${RECORDS}/${n.file}`, path: info.path, message: info.conflict.source === 'orphan' ? `its folder is gone (removed on another copy?); shown at the top level` : `a second version (${info.conflict.source}) is kept beside the original; keep it with mv or remove it with rm`, repairable: false });
      }
    }
    for (const n of c.index.records.values()) {
      if (n.conflict && isLive(n.body) && !tree.infoByFile.has(n.file)) {
        problems.push({ severity: 'info', code: 'CONFLICT', object: `${RECORDS}/${n.file}`, path: null, message: 'conflict copy identical to its original', repairable: true });
      }
    }
    // Blobs: every referenced blob decrypts completely.
    // Previous versions and trash entries too (versions.ts); purged entries keep nothing alive.
    const files: { n: RecordNode; body: RecordBody; label: string }[] = [];
    for (const n of c.index.records.values()) {
      const b = n.body;
      if (b.type !== 'file') continue;
      const where = pathOf(n) ?? (b.trashed ? `${b.trashed.path || b.name} (in the trash)` : null);
      if (liveBlobs(b).includes(b.blob as string)) files.push({ n, body: b, label: where ?? '' });
      for (const h of b.history ?? []) files.push({ n, body: { ...b, key: h.key, size: h.size, blob: h.blob }, label: `${where ?? b.name} (version ${h.version})` });
    }
    const progress = new ProgressTracker(opts.onProgress);
    progress.setTotals(files.length, files.reduce((a, f) => a + f.body.size, 0));
    let bytes = 0;
    // Strict vaults: file keys are opened in batches first, not one Vault request per file.
    await c.withFileKeys(files.map((f) => f.body), () => runPool(files, defaultConcurrency(), async (f) => {
      try {
        const sink = new Writable({ write: (_c, _e, cb) => cb() });
        const got = await decryptBlobTo(c, f.body, sink, (d) => progress.addBytes(d), opts.signal);
        bytes += got;
      } catch (e) {
        if (isCofferError(e) && e.code === 'CANCELLED') throw e;
        const info = isCofferError(e) ? e : new CofferError('IO', (e as Error).message);
        problems.push({ severity: 'error', code: info.code, object: blobKey(f.body.blob as string), path: f.label || null, message: info.message, repairable: false });
      }
      progress.fileDone();
    }, opts.signal), true);
    // Leftovers.
    const deadIntents: { key: string; objects: Set<string> }[] = [];
    for (const o of await c.storage.list(TMP_FOLDER)) {
      if (o.name === 'lock') continue;
      const key = `${TMP_FOLDER}/${o.name}`;
      // Only coffer's own leftovers are ever removed: regular files named by its scheme
      // (HOST~PID~RANDOM.tmp|.intent) whose process is gone. Anything else is reported and left alone.
      const kind = o.regular === false ? null : ownTempKind(o.name);
      if (kind === null) {
        problems.push({ severity: 'warning', code: 'UNKNOWN_FILE', object: key, path: null, message: o.regular === false ? 'a link or special file, not coffer\'s (left alone)' : 'not a coffer temp file (left alone)', repairable: false });
        continue;
      }
      const owner = ownerOf(o.name);
      const dead = owner ? owner.host === thisHost() && !pidAlive(owner.pid) : false;
      const old = owner !== null && owner.host !== thisHost() && Date.now() - o.mtimeMs > 7 * 24 * 3600 * 1000;
      if (kind === 'intent' && dead) {
        let objects: string[] = [];
        try {
          objects = (JSON.parse(((await c.storage.get(key)) ?? Buffer.alloc(0)).toString('utf8')) as { objects: string[] }).objects ?? [];
        } catch {
          objects = [];
        }
        deadIntents.push({ key, objects: new Set(objects) });
      }
      if (dead || old) problems.push({ severity: 'error', code: 'LEFTOVER', object: key, path: null, message: o.name.endsWith('.intent') ? 'record of an interrupted operation' : 'temporary file of an interrupted operation', repairable: true });
    }
    const proven = (obj: string): boolean => deadIntents.some((d) => d.objects.has(obj));
    // Released blobs (awaiting collection after the sync grace) are named too: not leftovers.
    const referenced = new Set([...c.index.records.values()].flatMap((n) => namedBlobs(n.body)).map((b) => `${b}.blob`));
    let blobCount = 0;
    for (const o of await c.storage.list(BLOBS)) {
      const n = parseObjectName(o.name, '.blob', HEX32);
      const key = `${BLOBS}/${o.name}`;
      if (!n || n.conflict) {
        problems.push({ severity: 'warning', code: 'UNKNOWN_FILE', object: key, path: null, message: 'not a blob name (left alone)', repairable: false });
        continue;
      }
      blobCount++;
      if (referenced.has(o.name)) continue;
      const p = proven(key);
      problems.push({ severity: p ? 'error' : 'warning', code: 'LEFTOVER', object: key, path: null, message: p ? 'content of an interrupted add; no entry refers to it' : 'no entry refers to this blob (maybe its record has not synced yet); left alone', repairable: p && o.regular !== false });
    }
    const epochIds = new Set(c.epochs.keys());
    const slotIds = new Set(c.slots.map((s) => s.name.id));
    for (const o of await c.storage.list(KEYS)) {
      const m = /^([0-9a-f]{12})\.([0-9]{8}-[0-9a-f]{8})\.key$/.exec(o.name);
      const key = `${KEYS}/${o.name}`;
      if (o.regular === false) {
        problems.push({ severity: 'error', code: 'VAULT_TAMPERED', object: key, path: null, message: 'a link or special file where a key wrap should be (never read; remove it)', repairable: false });
        continue;
      }
      if (!m) continue;
      if (epochIds.has(m[2] as string) && slotIds.has(m[1] as string)) continue;
      const p = proven(key) || proven(epochKey(m[2] as string));
      problems.push({ severity: p ? 'error' : 'warning', code: 'LEFTOVER', object: key, path: null, message: p ? 'key wrap of an interrupted rotation' : 'key wrap for an unknown slot or epoch (maybe not synced yet); left alone', repairable: p && !epochIds.has(m[2] as string) });
    }
    let report = problems;
    if (opts.repair) {
      for (const p of problems.filter((x) => x.repairable)) {
        await c.storage.delete(p.object);
        repaired.push(p.object);
      }
      report = problems.filter((x) => !x.repairable);
    }
    progress.finish();
    const ok = !report.some((p) => p.severity === 'error');
    return { ok, records: c.index.records.size, blobs: blobCount, bytes, problems: report, repaired };
  } finally {
    await release();
  }
}
