import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { initSodium } from '../../../main/core/crypto/sodium';
import { initVault, openVault, type Vault } from '../../../main/core/vault';
import type { UnlockCredentials } from '../../../main/core/vault/slots';
import { X25519Identity } from '../../../main/core/keys/x25519';

/** Argon2id kept cheap in tests through the explicit option (the defaults are untouched). */
export const TEST_KDF = { opsLimit: 1, memKiB: 8 } as const;

export interface Sandbox {
  base: string;
  dir: string;
  state: string;
  cleanup(): void;
}

export function sandbox(): Sandbox {
  const base = mkdtempSync(path.join(tmpdir(), 'coffer-vault-test-'));
  return { base, dir: path.join(base, 'vault'), state: path.join(base, 'state'), cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

export async function newVault(sb: Sandbox, opts: { passphrase?: string; members?: string[] } = { passphrase: 'correct horse' }): Promise<{ vault: Vault; recoveryKey: string }> {
  await initSodium();
  return initVault(sb.dir, {
    name: 'Test', passphrase: opts.passphrase, kdf: TEST_KDF, stateDir: sb.state,
    recipients: (opts.members ?? []).map((r) => ({ recipient: r })),
  });
}

export function open(sb: Sandbox, credentials: UnlockCredentials, dir = sb.dir, state = sb.state): Promise<Vault> {
  return openVault(dir, { credentials, stateDir: state });
}

/** Writes a small tree of files under `root` and returns their relative paths → contents. */
export function makeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(root, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
}

export async function member(): Promise<{ id: X25519Identity; recipient: string }> {
  await initSodium();
  const id = X25519Identity.generate();
  return { id, recipient: id.recipient().toString() };
}

export function paths(v: Vault, vpath = ''): string[] {
  return v.list(vpath, { recursive: true }).map((e) => (e.type === 'dir' ? `${e.path}/` : e.path)).sort();
}

/** One listed entry as the tree tests compare it: path, type, conflict source and the SHA-256 of a file's content. */
export interface TreeRow {
  path: string;
  type: 'file' | 'dir';
  conflict: string | null;
  sha256: string | null;
}

/** Every entry of the vault (recursive listing order) with its content hash, read through `readFile`. */
export async function treeRows(v: Vault): Promise<TreeRow[]> {
  const rows: TreeRow[] = [];
  for (const e of v.list('', { recursive: true })) {
    let sha256: string | null = null;
    if (e.type === 'file') {
      const h = createHash('sha256');
      await v.readFile(e.path, new Writable({ write: (c: Buffer, _e, cb) => { h.update(c); cb(); } }));
      sha256 = h.digest('hex');
    }
    rows.push({ path: e.path, type: e.type, conflict: e.conflict?.source ?? null, sha256 });
  }
  return rows;
}

export const sha256hex = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');
