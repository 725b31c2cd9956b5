/**
 * What this computer remembers about each vault, to refuse rollbacks and replays: the highest epoch
 * seen, the revocation epochs accepted (history.ts), and the highest version seen of every entry (a negative number marks an entry deleted at that
 * version). Kept in `<stateDir>/vaults/<vaultId>.json`, written atomically; concurrent writers merge
 * by taking maxima, so no process can lower what another has recorded.
 */
import { readFileSync } from 'node:fs';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';

export interface VaultMemory {
  epochN: number;
  epochId: string;
  /** entry id → highest version seen (negative: deleted at that version). */
  entries: Record<string, number>;
  /** Revocation epochs accepted here: every later current epoch must descend from each (a set; only grows). */
  revocations: string[];
  /**
   * This computer's writer id in the vault's version clocks (docs/FORMAT.md §6.18); set once per place
   * (see `placeOf`): a state folder copied to another computer or folder gets a new one there.
   */
  writer?: string;
}

/**
 * Where this state lives: the machine (its machine-id where the system has one, and host name) and the
 * state folder's path. Two computers sharing one writer id would make each other's changes look already
 * seen (a lost update); a home folder cloned to a new laptop, or a state folder copied elsewhere, carries
 * the writer id along, so it only counts where it was chosen.
 */
let machine: string | undefined;
function placeOf(stateDir: string): string {
  if (machine === undefined) {
    let id = '';
    try {
      id = readFileSync('/etc/machine-id', 'utf8').trim();
    } catch {
      // No machine-id (macOS, Windows): the host name and the path still tell most copies apart.
    }
    machine = `${id}\n${hostname()}`;
  }
  return createHash('sha256').update(`${machine}\n${path.resolve(stateDir)}`).digest('hex').slice(0, 16);
}

const empty = (): VaultMemory => ({ epochN: -1, epochId: '', entries: {}, revocations: [] });
const EPOCH_ID = /^[0-9]{8}-[0-9a-f]{8}$/;
const WRITER = /^[0-9a-f]{12}$/;

function fileFor(stateDir: string, vaultId: string): string {
  return path.join(stateDir, 'vaults', `${vaultId}.json`);
}

export async function readMemory(stateDir: string, vaultId: string): Promise<VaultMemory> {
  try {
    const m = JSON.parse(await readFile(fileFor(stateDir, vaultId), 'utf8')) as Partial<VaultMemory>;
    return {
      epochN: typeof m.epochN === 'number' ? m.epochN : -1,
      epochId: typeof m.epochId === 'string' ? m.epochId : '',
      entries: m.entries && typeof m.entries === 'object' ? m.entries : {},
      revocations: Array.isArray(m.revocations) ? m.revocations.filter((r): r is string => typeof r === 'string' && EPOCH_ID.test(r)) : [],
      // The writer id counts only where it was chosen (placeOf).
      ...(typeof m.writer === 'string' && WRITER.test(m.writer) && (m as { writerAt?: unknown }).writerAt === placeOf(stateDir) ? { writer: m.writer } : {}),
    };
  } catch {
    return empty();
  }
}

function mergeVersion(a: number | undefined, b: number): number {
  if (a === undefined) return b;
  const abs = Math.max(Math.abs(a), Math.abs(b));
  // At equal versions a deletion wins; otherwise the higher version decides.
  if (Math.abs(a) === Math.abs(b)) return a < 0 || b < 0 ? -abs : abs;
  return Math.abs(a) > Math.abs(b) ? a : b;
}

/** Merges `update` into the stored memory (maxima only) and writes it atomically. */
export async function updateMemory(stateDir: string, vaultId: string, update: Partial<VaultMemory>): Promise<VaultMemory> {
  const file = fileFor(stateDir, vaultId);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const cur = await readMemory(stateDir, vaultId);
  if (update.epochN !== undefined && update.epochN > cur.epochN) {
    cur.epochN = update.epochN;
    cur.epochId = update.epochId ?? '';
  } else if (update.epochN !== undefined && update.epochN === cur.epochN && update.epochId) {
    // Same number: the epoch this process just chose (concurrent heads are joined by the next change).
    cur.epochId = update.epochId;
  }
  for (const [id, v] of Object.entries(update.entries ?? {})) cur.entries[id] = mergeVersion(cur.entries[id], v);
  for (const r of update.revocations ?? []) if (EPOCH_ID.test(r) && !cur.revocations.includes(r)) cur.revocations.push(r);
  cur.revocations.sort();
  // The writer id is chosen once; a concurrent process that chose another loses (it reads this one next).
  if (!cur.writer && update.writer && WRITER.test(update.writer)) cur.writer = update.writer;
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify(cur.writer ? { ...cur, writerAt: placeOf(stateDir) } : cur));
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  return cur;
}

/** This computer's writer id for the vault (6 random bytes in hex), created and remembered on first use. */
export async function writerId(stateDir: string, vaultId: string): Promise<string> {
  const m = await readMemory(stateDir, vaultId);
  if (m.writer) return m.writer;
  return (await updateMemory(stateDir, vaultId, { writer: randomBytes(6).toString('hex') })).writer as string;
}
