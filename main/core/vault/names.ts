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

/** Entry, blob and vault ids: 128 random bits as 32 lower-case hex digits. */
export const newId = (): string => randomBytes(16).toString('hex');
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
