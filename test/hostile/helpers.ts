/**
 * Shared pieces of the hostile-folder suite (issue 9): each test performs one attack for real on a real
 * temp vault, and shows with a positive control that the attack would have worked against the code as
 * it was before (fixtures/legacy-fs-storage.ts is that door, kept for this purpose only).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { RecordBody, Vault } from '../../main/core/vault';
import { writeRecord } from '../../main/core/vault/records';

export { makeTree, member, newVault, open, paths, sandbox, TEST_KDF, type Sandbox } from '../core/vault/helpers';

export interface Entry {
  readonly type: 'file' | 'dir' | 'link' | 'other';
  readonly size: number;
  readonly mtimeMs: number;
  readonly sha: string;
}

/**
 * Everything under `root` (not following links), except the subtrees in `skip`: a snapshot to prove
 * that an attack touched nothing outside the vault (no file written, changed or deleted).
 */
export function snapshot(root: string, skip: readonly string[] = []): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      if (skip.some((s) => path.resolve(s) === path.resolve(p))) continue;
      const st = lstatSync(p);
      const rel = path.relative(root, p);
      if (st.isSymbolicLink()) out.set(rel, { type: 'link', size: 0, mtimeMs: 0, sha: readlinkSync(p) });
      else if (st.isDirectory()) {
        out.set(rel, { type: 'dir', size: 0, mtimeMs: 0, sha: '' });
        walk(p);
      } else if (st.isFile()) out.set(rel, { type: 'file', size: st.size, mtimeMs: st.mtimeMs, sha: createHash('sha256').update(readFileSync(p)).digest('hex') });
      else out.set(rel, { type: 'other', size: 0, mtimeMs: 0, sha: '' });
    }
  };
  walk(root);
  return out;
}

/** A pid that belonged to a process which has exited (a crashed or killed coffer). */
export function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  if (typeof r.pid !== 'number') throw new Error('could not spawn a child to obtain a dead pid');
  return r.pid;
}

/**
 * What a co-member M holding the vault key can do with a modified client: seal any record body under the
 * current epoch. (Uses the vault's own sealing, reached by element access: the attacker has the key.)
 */
export async function forgeRecord(vault: Vault, body: Record<string, unknown>): Promise<void> {
  await writeRecord(vault['core'], body as unknown as RecordBody);
}

/** A vault's own host-local temp name for process `pid` (what coffer itself would create). */
export function ownTempName(host: string, pid: number, ext: 'tmp' | 'intent' = 'tmp'): string {
  return `${host}~${pid}~0123456789abcdef.${ext}`;
}
