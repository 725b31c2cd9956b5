/**
 * Object names and the conflict copies sync clients make of them.
 *
 * Every vault object is named `<id><ext>` with a random id. When two machines change the same object,
 * sync clients keep both by renaming one; these are recognised, so both versions can be shown:
 *   Dropbox      `<id> (conflicted copy 2026-11-29).rec`, `<id> (Alice's conflicted copy 2026-11-29).rec`
 *   Nextcloud    `<id> (conflicted copy 2026-11-29 120102).rec`
 *   OneDrive     `<id>-HOSTNAME.rec`, `<id>-HOSTNAME-2.rec`
 *   Syncthing    `<id>.sync-conflict-20261129-120102-ABCDEF7.rec`
 *   Google Drive `<id> (1).rec`
 */
import { randomBytes } from 'node:crypto';

export type ConflictSource = 'dropbox' | 'nextcloud' | 'onedrive' | 'syncthing' | 'google-drive';

export interface ObjectName {
  readonly id: string;
  /** null for the original; otherwise which sync client made this copy, and the raw marker. */
  readonly conflict: { readonly source: ConflictSource; readonly marker: string } | null;
}

/**
 * Entry, blob and vault ids: 128 random bits as 32 lower-case hex digits. Drawn from a pool refilled
 * 256 ids at a time: the same CSPRNG output, without a getrandom (and OpenSSL's getpid) per id, which
 * `add` of many small files paid twice per file. The pool holds only ids, which become public names.
 */
let idPool = Buffer.alloc(0);
let idNext = 0;
export const newId = (): string => {
  if (idNext + 16 > idPool.length) {
    idPool = randomBytes(16 * 256);
    idNext = 0;
  }
  const id = idPool.toString('hex', idNext, idNext + 16);
  idNext += 16;
  return id;
};
/** Slot ids: 48 random bits, 12 hex digits (short enough to type in `revoke`). */
export const newSlotId = (): string => randomBytes(6).toString('hex');

export const ID_RE = /^[0-9a-f]{32}$/;
export const SLOT_ID_RE = /^[0-9a-f]{12}$/;
/** Epoch ids: zero-padded number, dash, 8 random hex digits; they sort by number, then randomly. */
export const EPOCH_ID_RE = /^([0-9]{8})-([0-9a-f]{8})$/;

export function newEpochId(n: number): string {
  return `${String(n).padStart(8, '0')}-${randomBytes(4).toString('hex')}`;
}

export function epochNumber(epochId: string): number {
  const m = EPOCH_ID_RE.exec(epochId);
  return m ? Number(m[1]) : -1;
}

function classify(marker: string): ObjectName['conflict'] | undefined {
  if (marker === '') return null;
  if (/^ \((?:[^()]*'s )?conflicted copy [^()]*\)$/i.test(marker)) {
    return { source: /\d{6}\)$/.test(marker) ? 'nextcloud' : 'dropbox', marker };
  }
  if (/^\.sync-conflict-\d{8}-\d{6}(?:-[A-Z0-9]{7})?$/.test(marker)) return { source: 'syncthing', marker };
  if (/^ \(\d{1,4}\)$/.test(marker)) return { source: 'google-drive', marker };
  if (/^-[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/.test(marker)) return { source: 'onedrive', marker };
  return undefined;
}

/**
 * Parses `name` as `<id><marker><ext>`; `idPattern` is an anchored-at-start regex source for the id.
 * Returns null for names that are not objects of this kind (reported by verify as unknown files).
 */
export function parseObjectName(name: string, ext: string, idPattern: string): ObjectName | null {
  if (!name.endsWith(ext)) return null;
  const stem = name.slice(0, -ext.length);
  const m = new RegExp(`^(${idPattern})(.*)$`).exec(stem);
  if (!m) return null;
  const id = m[1] as string;
  const marker = m[2] as string;
  if (marker === '') return { id, conflict: null };
  const c = classify(marker);
  return c ? { id, conflict: c } : null;
}

export const HEX32 = '[0-9a-f]{32}';
export const HEX12 = '[0-9a-f]{12}';
export const EPOCH_PAT = '[0-9]{8}-[0-9a-f]{8}';

/* ------------------------------------------------------------- entry names */

/**
 * The one rule for entry names (docs/FORMAT.md §6.13): names are stored in Unicode NFC, and every
 * lookup normalises the path it is given the same way, so a name typed or handed out in NFD (macOS)
 * and the same text in NFC (Linux, Windows) are one name everywhere: CLI, app and core.
 */
export function normalizeName(name: string): string {
  return name.normalize('NFC');
}

/** Characters Windows refuses in a file name: these and the control characters 0x00–0x1F. */
const isWindowsBadChar = (c: string): boolean => '<>:"\\|?*'.includes(c) || c.charCodeAt(0) < 0x20;
/** Device names Windows reserves, with or without an extension (compared case-insensitively). */
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$/i;

export type ExportRenameReason = 'windows-invalid' | 'case-collision';

export interface ExportedName {
  readonly name: string;
  /** The name written, or equal to `name` when nothing changed. */
  readonly written: string;
  readonly reason: ExportRenameReason | null;
}

/** Why `name` cannot be written as is on Windows, or null. */
export function windowsProblem(name: string): string | null {
  if (WINDOWS_RESERVED.test(name)) return 'a reserved device name on Windows';
  if ([...name].some(isWindowsBadChar)) return 'has characters Windows does not allow';
  if (/[. ]$/.test(name)) return 'ends in a dot or space, which Windows drops';
  return null;
}

/** The Windows-safe form of one name: bad characters and trailing dots/spaces become `_`, `CON` → `CON_`. */
export function windowsSafeName(name: string): string {
  let n = [...name].map((c) => (isWindowsBadChar(c) ? '_' : c)).join('');
  n = n.replace(/[. ]+$/, (m) => '_'.repeat(m.length));
  const m = WINDOWS_RESERVED.exec(n);
  if (m) n = `${m[1] as string}_${m[2] ?? ''}`;
  return n;
}

function withCounter(name: string, n: number): string {
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  return `${stem} (${n})${ext}`;
}

/**
 * The names to write the entries of one folder under when exporting to `platform`. Nothing is merged
 * and nothing silently dropped: on Windows, names it cannot create are changed visibly
 * (windowsSafeName); on Windows and macOS, whose file systems ignore case, the later of two names equal
 * but for case gets ` (2)`, ` (3)`… before its extension. Unchanged names keep priority; ties by name.
 */
export function exportNames(names: readonly string[], platform: NodeJS.Platform = process.platform): ExportedName[] {
  const win = platform === 'win32';
  const foldCase = win || platform === 'darwin';
  const fold = (s: string): string => (foldCase ? s.normalize('NFC').toLowerCase() : s.normalize('NFC'));
  const planned = names.map((name) => {
    const safe = win ? windowsSafeName(name) : name;
    return { name, safe, reason: safe !== name ? ('windows-invalid' as const) : null };
  });
  const order = [...planned.keys()].sort((a, b) => {
    const x = planned[a] as (typeof planned)[number];
    const y = planned[b] as (typeof planned)[number];
    return Number(x.reason !== null) - Number(y.reason !== null) || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0);
  });
  const taken = new Set<string>();
  const out: ExportedName[] = new Array<ExportedName>(names.length);
  for (const i of order) {
    const p = planned[i] as (typeof planned)[number];
    let written = p.safe;
    let reason: ExportRenameReason | null = p.reason;
    for (let n = 2; taken.has(fold(written)); n++) {
      written = withCounter(p.safe, n);
      reason ??= 'case-collision';
    }
    taken.add(fold(written));
    out[i] = { name: p.name, written, reason };
  }
  return out;
}

/** A folder name for free text such as a vault's (unauthenticated) name: one path component, never `.`/`..`. */
export function folderNameFor(text: string): string {
  const n = [...normalizeName(text)].map((c) => (c === '/' || c === '\\' || c.charCodeAt(0) < 0x20 ? '_' : c)).join('').trim();
  return n === '' || n === '.' || n === '..' ? 'vault' : n;
}
