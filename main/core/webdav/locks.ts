/**
 * WebDAV locks (RFC 4918 §6–7): an in-memory table, per server process. Locks guard against other
 * WebDAV clients of this server; the CLI and the app do not take them (they are advisory for them, as
 * in most WebDAV servers). Every lock has a timeout and is forgotten when it expires or the server stops.
 */
import { randomUUID } from 'node:crypto';

export type LockScope = 'exclusive' | 'shared';

export interface DavLock {
  readonly token: string;
  /** Vault path of the locked resource ('' is the root). */
  path: string;
  readonly depth: 0 | 'infinity';
  readonly scope: LockScope;
  /** The client's DAV:owner element, as XML (echoed back in lockdiscovery). */
  readonly owner: string;
  timeoutSeconds: number;
  expires: number;
}

/** Longest lock a client can ask for; "Infinite" gets this too. */
export const MAX_LOCK_SECONDS = 24 * 3600;
export const DEFAULT_LOCK_SECONDS = 3600;

const isUnder = (p: string, root: string): boolean => root === '' || p === root || p.startsWith(`${root}/`);

/** The `Timeout` request header (e.g. "Second-600, Infinite") → seconds, bounded. */
export function parseTimeout(h: string | undefined): number {
  if (!h) return DEFAULT_LOCK_SECONDS;
  for (const part of h.split(',').map((s) => s.trim())) {
    if (/^infinite$/i.test(part)) return MAX_LOCK_SECONDS;
    const m = /^second-(\d+)$/i.exec(part);
    if (m) return Math.max(1, Math.min(MAX_LOCK_SECONDS, Number(m[1])));
  }
  return DEFAULT_LOCK_SECONDS;
}

export class LockTable {
  private readonly locks = new Map<string, DavLock>();

  constructor(private readonly now: () => number = Date.now) {}

  private prune(): void {
    const t = this.now();
    for (const [k, l] of this.locks) if (l.expires <= t) this.locks.delete(k);
  }

  get(token: string): DavLock | undefined {
    this.prune();
    return this.locks.get(token);
  }

  /** Locks that cover `path`: on it, or depth-infinity on an ancestor. */
  covering(path: string): DavLock[] {
    this.prune();
    const out: DavLock[] = [];
    for (const l of this.locks.values()) if (l.path === path || (l.depth === 'infinity' && isUnder(path, l.path))) out.push(l);
    return out;
  }

  /** Locks on `path` or anywhere below it. */
  within(path: string): DavLock[] {
    this.prune();
    return [...this.locks.values()].filter((l) => isUnder(l.path, path));
  }

  /** Whether a new lock would conflict: an exclusive lock anywhere it touches, or exclusive asked over any lock. */
  conflicts(path: string, depth: 0 | 'infinity', scope: LockScope): DavLock | undefined {
    const touched = [...this.covering(path), ...(depth === 'infinity' ? this.within(path) : [])];
    return touched.find((l) => l.scope === 'exclusive' || scope === 'exclusive');
  }

  create(path: string, depth: 0 | 'infinity', scope: LockScope, owner: string, timeoutSeconds: number): DavLock {
    const lock: DavLock = {
      token: `urn:uuid:${randomUUID()}`, path, depth, scope, owner, timeoutSeconds, expires: this.now() + timeoutSeconds * 1000,
    };
    this.locks.set(lock.token, lock);
    return lock;
  }

  refresh(lock: DavLock, timeoutSeconds: number): void {
    lock.timeoutSeconds = timeoutSeconds;
    lock.expires = this.now() + timeoutSeconds * 1000;
  }

  remove(token: string): boolean {
    return this.locks.delete(token);
  }

  /** After a MOVE: locks below the old path are dropped (RFC 4918 §7.7: locks do not move). */
  dropWithin(path: string): void {
    for (const l of this.within(path)) this.locks.delete(l.token);
  }

  /** Locks strictly below `path` (its own stay). */
  dropBelow(path: string): void {
    for (const l of this.within(path)) if (l.path !== path) this.locks.delete(l.token);
  }

  secondsLeft(lock: DavLock): number {
    return Math.max(0, Math.round((lock.expires - this.now()) / 1000));
  }

  /** Every unexpired lock. */
  all(): DavLock[] {
    this.prune();
    return [...this.locks.values()];
  }

  get size(): number {
    this.prune();
    return this.locks.size;
  }
}
