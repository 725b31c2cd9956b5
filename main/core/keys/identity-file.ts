/**
 * Identity files: one identity per line, blank lines and `#` comments allowed, e.g.
 *
 *   # created: 2026-11-29T22:00:00.000Z
 *   # public key: coffer1…
 *   COFFER-SECRET-KEY-1…
 *
 * Files holding secrets refuse to load when group- or world-accessible. Other providers (hardware-key
 * stubs) register a line prefix and parser here.
 */
import { open } from 'node:fs/promises';
import { CofferError } from '../errors';
import type { Identity } from './types';
import { X25519Identity, X25519_IDENTITY_HRP } from './x25519';
import { PIV_STUB_PREFIX, PivP256Identity, parsePivStubLine } from './pkcs11-p256';

export interface IdentityLineParser {
  /** Upper-cased line prefix, e.g. "COFFER-SECRET-KEY-1". */
  readonly prefix: string;
  /** Whether lines of this kind are secret (then the file must not be group/world readable). */
  readonly secret: boolean;
  parse(line: string): Identity;
}

const lineParsers: IdentityLineParser[] = [
  { prefix: `${X25519_IDENTITY_HRP.toUpperCase()}1`, secret: true, parse: (l) => X25519Identity.parse(l) },
  // Hardware-key stubs name a key on a token; they hold no secret.
  { prefix: PIV_STUB_PREFIX, secret: false, parse: (l) => new PivP256Identity(parsePivStubLine(l)) },
];

export function registerIdentityLineParser(p: IdentityLineParser): void {
  if (!lineParsers.some((q) => q.prefix === p.prefix)) lineParsers.push(p);
}

export function parseIdentityText(text: string, source: string): { identities: Identity[]; secret: boolean } {
  const identities: Identity[] = [];
  let secret = false;
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const parser = lineParsers.find((p) => line.toUpperCase().startsWith(p.prefix));
    if (!parser) throw new CofferError('BAD_IDENTITY_FILE', `${source} line ${i + 1}: not an identity (expected COFFER-SECRET-KEY-1…)`);
    try {
      identities.push(parser.parse(line));
    } catch (e) {
      throw new CofferError('BAD_IDENTITY_FILE', `${source} line ${i + 1}: ${e instanceof Error ? e.message : String(e)}`);
    }
    secret ||= parser.secret;
  }
  if (identities.length === 0) throw new CofferError('BAD_IDENTITY_FILE', `${source}: no identities found`);
  return { identities, secret };
}

/** Reads an identity file, refusing secret files that others can read (like ssh does). */
export async function readIdentityFile(path: string): Promise<Identity[]> {
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new CofferError('BAD_IDENTITY_FILE', `${path}: not a regular file`);
    if (st.size > 1024 * 1024) throw new CofferError('BAD_IDENTITY_FILE', `${path}: too large to be an identity file`);
    const { identities, secret } = parseIdentityText(await fh.readFile('utf8'), path);
    if (secret && process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new CofferError('INSECURE_PERMISSIONS',
        `${path} is readable by other users (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${path}`);
    }
    return identities;
  } finally {
    await fh.close();
  }
}

/** The text of a new identity file for `id`. */
export function formatIdentityFile(id: X25519Identity, created = new Date()): string {
  const r = id.recipient();
  return `# created: ${created.toISOString()}\n# public key: ${r.toString()}\n# fingerprint: ${r.fingerprint}\n${id.toString()}\n`;
}
