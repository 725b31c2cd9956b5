/** Small helpers shared by the screens. No Node, no electron: only window.coffer. */
import { useState } from 'react';
import type { ErrorInfo } from '../preload/contract';
import { formatSize } from './i18n';

export const coffer = (): Window['coffer'] => window.coffer;

/** Turns what a failed call rejected with into something to show. */
export function errorOf(e: unknown): ErrorInfo {
  if (typeof e === 'object' && e !== null && typeof (e as ErrorInfo).message === 'string') {
    const code = typeof (e as ErrorInfo).code === 'string' ? (e as ErrorInfo).code : 'INTERNAL';
    return { code, message: (e as ErrorInfo).message };
  }
  return { code: 'INTERNAL', message: String(e) };
}

/** Sizes in the window's locale (i18n.ts). */
export function formatBytes(n: number | null | undefined): string {
  return formatSize(n);
}

export function formatRate(bytesPerSecond: number): string {
  return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
}

export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function formatDate(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

export function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

export const slotTypeLabel: Record<string, string> = {
  passphrase: 'Passphrase',
  x25519: 'Member key',
  recovery: 'Recovery key',
  'piv-p256': 'Hardware key',
  'vault-transit': 'Vault Transit',
  unknown: 'Unknown',
};

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
      setError(errorOf(e).message);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, status, setError, setStatus, run };
}
