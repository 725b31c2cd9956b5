/** Small helpers shared by the screens. No Node, no electron: only window.coffer. */
import { useState } from 'react';
import i18next from 'i18next';
import type { ErrorInfo, JobInfo } from '../preload/contract';
import { formatDateIn, formatRateIn, formatSize } from './i18n';

export const coffer = (): Window['coffer'] => window.coffer;

/** Turns what a failed call rejected with into something to show. */
export function errorOf(e: unknown): ErrorInfo {
  if (typeof e === 'object' && e !== null && typeof (e as ErrorInfo).message === 'string') {
    const code = typeof (e as ErrorInfo).code === 'string' ? (e as ErrorInfo).code : 'INTERNAL';
    return { code, message: (e as ErrorInfo).message };
  }
  return { code: 'INTERNAL', message: String(e) };
}

/**
 * What a person reads for an error. In English, main's own message (it names the path and the
 * action). In another language, the catalog's sentence for the error's stable code, with main's
 * message under it as the detail (paths and names stay as they are); unknown codes fall back to
 * main's message.
 */
export function errorText(e: unknown): string {
  const err = errorOf(e);
  const lng = i18next.language || 'en';
  if (lng === 'en') return err.message;
  const key = `errors.${err.code}`;
  if (!i18next.exists(key)) return err.message;
  return `${i18next.t(key as 'errors.IO')} ${i18next.t('errors.detail', { message: err.message })}`;
}

/**
 * A message main wrote (in English, with the specifics): as it is in English; in another language
 * the catalog's sentence `translated`, with main's message as the detail.
 */
export function inLanguage(translated: string, mainMessage: string): string {
  return (i18next.language || 'en') === 'en' ? mainMessage : `${translated} ${i18next.t('errors.detail', { message: mainMessage })}`;
}

/** The next step for an error (unlock and hardware-key screens), in the current language; null if none. */
export function errorHelp(code: string): string | null {
  const key = `errors.help.${code}`;
  return i18next.exists(key) ? i18next.t(key as 'errors.help.PIN_LOCKED') : null;
}

/** Sizes in the window's locale (i18n.ts). */
export function formatBytes(n: number | null | undefined): string {
  return formatSize(n);
}

export function formatRate(bytesPerSecond: number): string {
  return formatRateIn(bytesPerSecond);
}

export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return i18next.t('duration.s', { s });
  const m = Math.floor(s / 60);
  if (m < 60) return i18next.t('duration.ms', { m, s: s % 60 });
  return i18next.t('duration.hm', { h: Math.floor(m / 60), m: m % 60 });
}

/** Date and time in the window's locale (dd.mm.yyyy in German). */
export function formatDate(iso: string | number | null | undefined): string {
  return formatDateIn(iso);
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

export function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

const SLOT_TYPES = ['passphrase', 'x25519', 'recovery', 'piv-p256', 'vault-transit', 'unknown'] as const;
/** A key slot's type in words (the type itself when it is one this version does not know). */
export function slotTypeLabel(type: string): string {
  const known = SLOT_TYPES.find((s) => s === type);
  return known ? i18next.t(`slotType.${known}`) : type;
}

/** A job's title in the window's language (main's English title as it is, or when it says nothing of its subject). */
export function jobTitle(job: Pick<JobInfo, 'kind' | 'title' | 'subject'>): string {
  if ((i18next.language || 'en') === 'en' || !job.subject) return job.title;
  const { name, count, vault } = job.subject;
  return job.kind === 'add' ? i18next.t('jobs.kind.add', { name, count, vault }) : i18next.t(`jobs.kind.${job.kind}`, { name, vault });
}

/** Main's warning about where private keys are kept, in the window's language. */
export function storageWarning(info: { storageBackend: string; storageWarning: string | null }): string | null {
  if (!info.storageWarning) return null;
  if ((i18next.language || 'en') === 'en') return info.storageWarning;
  return info.storageBackend === 'basic_text' ? i18next.t('settings.storageWarning.basicText') : i18next.t('settings.storageWarning.none');
}

/**
 * A notice from the core (touch the key, contacting Vault) in the window's language: its kind and the
 * one name it carries are enough; anything else as main wrote it.
 */
export function noticeText(n: { kind: string; message: string }): string {
  if ((i18next.language || 'en') === 'en') return n.message;
  const contacting = n.kind === 'contacting' ? /^Contacting Vault at (.+?)…?$/.exec(n.message) : null;
  if (contacting) return i18next.t('notice.contacting', { address: contacting[1] ?? '' });
  const touch = n.kind === 'touch' ? /^Touch your key (.+) if it blinks$/.exec(n.message) : null;
  if (touch) return i18next.t('notice.touch', { name: touch[1] ?? '' });
  const pad = /^Enter the PIN on (.+)'s PIN pad$/.exec(n.message);
  if (pad) return i18next.t('notice.pinPad', { name: pad[1] ?? '' });
  return n.message;
}

/** A slot's label; the default labels the core writes ("passphrase", "recovery key") in the current language. */
export function slotLabel(slot: { type: string; label: string }): string {
  if ((slot.type === 'recovery' && slot.label === 'recovery key') || (slot.type === 'passphrase' && slot.label === 'passphrase')) return slotTypeLabel(slot.type);
  return slot.label;
}

/**
 * The busy / error / status state of a screen's buttons: `run(what)` clears both messages, marks the
 * screen busy, shows what `what` resolves to (or the error it throws), then calls `after` (a reload).
 */
export function useAction(after: () => Promise<unknown>): {
  busy: boolean;
  error: string | null;
  status: string | null;
  setError: (m: string | null) => void;
  setStatus: (m: string | null) => void;
  run: (what: () => Promise<string | null>) => Promise<void>;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const run = async (what: () => Promise<string | null>): Promise<void> => {
    setBusy(true);
    setError(null);
    setStatus(null);
    try {
      setStatus(await what());
      await after();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, status, setError, setStatus, run };
}

/** Browser shell: opens a one-time download link from files:exportDownload as a link click (never fetch()). */
export function clickDownload(d: { url: string; name: string }): void {
  const a = document.createElement('a');
  a.href = d.url;
  a.download = d.name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
}
