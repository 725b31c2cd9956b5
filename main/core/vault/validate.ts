/**
 * Field validation for what is decoded from a vault folder. Anything read from the folder may have been
 * written by someone hostile (docs/SECURITY.md): a co-member holding the vault key can seal a record
 * with any JSON inside, so authentication is not enough. Every record body passes `validateRecordBody`
 * (called from the one place vault.ts decodes a record); entry names pass `nameProblem`, which is also
 * what `add`, `mkdir` and `mv` check before writing, so that no record this build writes is refused
 * when read back.
 */
import { CofferError } from '../errors';
import { ID_RE } from './names';
import { validProps, type RecordBody } from './types';
import { historyProblem } from './versions';

/** Longest entry name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 1024;
/** Longest file key field (base64 of 32 bytes, or a key guard's sealed form). */
export const MAX_KEY_CHARS = 8192;
/** The range of an ECMAScript Date (ms from 1970): beyond it `new Date(mtime)` is "Invalid Date". */
export const MAX_MTIME_MS = 8.64e15;

// C0 controls, DEL and C1 controls: they move the cursor, erase lines or start terminal escapes.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why `name` cannot be an entry name, or null when it can: not empty, not `.` or `..`, no `/`, `\`,
 * NUL or other control character, valid Unicode, at most MAX_NAME_BYTES bytes of UTF-8.
 */
export function nameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return 'the name is not text';
  if (name === '') return 'the name is empty';
  if (name === '.' || name === '..') return `the name is "${name}"`;
  if (name.includes('/')) return 'the name contains "/"';
  if (name.includes('\\')) return 'the name contains "\\"';
  if (CONTROL.test(name)) return 'the name contains a control character';
  if (LONE_SURROGATE.test(name)) return 'the name is not valid Unicode';
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `the name is longer than ${MAX_NAME_BYTES} bytes`;
  return null;
}

/** A version clock names at most this many writers (computers that changed the entry). */
export const MAX_CLOCK_WRITERS = 256;
/** A writer id in a version clock: 6 random bytes in hex, one per computer and vault. */
export const WRITER_RE = /^[0-9a-f]{12}$/;

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Why `c` is not a well-formed version clock (writer id → count ≥ 1), or null. */
export function clockProblem(c: unknown): string | null {
  if (!isObject(c)) return 'the version clock is not an object';
  const e = Object.entries(c);
  if (e.length > MAX_CLOCK_WRITERS) return 'the version clock names too many writers';
  for (const [k, v] of e) if (!WRITER_RE.test(k) || typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) return 'the version clock is malformed';
  return null;
}

/** Why `b` is not a valid record body for entry `id`, or null when it is. */
export function recordProblem(b: unknown, id: string): string | null {
  if (!isObject(b)) return 'the record is not a JSON object';
  if (b.v !== 1) return `unknown record version ${JSON.stringify(b.v)?.slice(0, 20) ?? 'undefined'}`;
  if (b.id !== id) return 'the record names another entry id than its file';
  if (b.type !== 'file' && b.type !== 'dir') return 'the entry type is neither file nor dir';
  if (typeof b.parent !== 'string' || (b.parent !== '' && !ID_RE.test(b.parent))) return 'the parent id is malformed';
  if (b.parent === id) return 'the entry is its own parent';
  const np = nameProblem(b.name);
  if (np) return np;
  if (typeof b.size !== 'number' || !Number.isSafeInteger(b.size) || b.size < 0) return `size ${String(b.size).slice(0, 40)} is out of range`;
  if (typeof b.mtime !== 'number' || !Number.isFinite(b.mtime) || Math.abs(b.mtime) > MAX_MTIME_MS) {
    return `mtime ${String(b.mtime).slice(0, 40)} is out of range`;
  }
  if (typeof b.version !== 'number' || !Number.isSafeInteger(b.version) || b.version < 1) return `version ${String(b.version).slice(0, 40)} is out of range`;
  if (b.clock !== undefined) {
    const cp = clockProblem(b.clock);
    if (cp) return cp;
  }
  if (b.gone !== undefined) {
    if (typeof b.gone !== 'number' || !Number.isSafeInteger(b.gone) || Math.abs(b.gone) > MAX_MTIME_MS) return 'the deletion time is out of range';
    // A tombstone names no content.
    if (b.key !== undefined || b.blob !== undefined || b.history !== undefined || b.trashed !== undefined) return 'a deletion record names content';
    return historyProblem(b);
  }
  if (b.type === 'file') {
    if (typeof b.key !== 'string' || b.key === '' || b.key.length > MAX_KEY_CHARS) return 'the file key field is malformed';
    if (typeof b.blob !== 'string' || !ID_RE.test(b.blob)) return 'the blob id is malformed';
  }
  if (b.props !== undefined && !validProps(b.props)) return 'the properties are malformed or exceed their limits';
  return historyProblem(b);
}

/**
 * Checks a decoded record body; VAULT_TAMPERED naming the entry id and the reason otherwise
 * (the caller reports the record by its object name and skips it; the rest of the vault keeps working).
 */
export function validateRecordBody(b: unknown, id: string): RecordBody {
  const why = recordProblem(b, id);
  if (why !== null) throw new CofferError('VAULT_TAMPERED', `record ${id} is invalid: ${why}`);
  return b as unknown as RecordBody;
}
