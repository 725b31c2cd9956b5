/**
 * Parses recipient strings and recipients files. Each provider with a public recipient string
 * registers its prefix here (x25519 "coffer1…"; hardware keys add theirs).
 */
import { readFile } from 'node:fs/promises';
import { CofferError } from '../errors';
import type { Recipient } from './types';
import { X25519Recipient, X25519_RECIPIENT_HRP } from './x25519';
import { PIV_RECIPIENT_HRP, PivP256Recipient } from './pkcs11-p256';

type RecipientParser = (text: string) => Recipient;

/** bech32 human-readable prefix → parser. Longer prefixes are tried first. */
const parsers: [string, RecipientParser][] = [
  [`${X25519_RECIPIENT_HRP}1`, (t) => X25519Recipient.parse(t)],
  [`${PIV_RECIPIENT_HRP}1`, (t) => PivP256Recipient.parse(t)],
];

export function registerRecipientPrefix(prefix: string, parse: RecipientParser): void {
  if (!parsers.some(([p]) => p === prefix)) parsers.push([prefix, parse]);
  parsers.sort((a, b) => b[0].length - a[0].length);
}

export function parseRecipient(text: string): Recipient {
  const t = text.trim();
  const lower = t.toLowerCase();
  for (const [prefix, parse] of parsers) if (lower.startsWith(prefix)) return parse(t);
  throw new CofferError('BAD_RECIPIENT', `unrecognised recipient "${t.slice(0, 24)}${t.length > 24 ? '…' : ''}" (expected coffer1…)`);
}

/** A recipients file: one recipient per line; blank lines and `#` comments ignored. */
export function parseRecipientsText(text: string, source: string): Recipient[] {
  const out: Recipient[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    try {
      out.push(parseRecipient(line));
    } catch (e) {
      const msg = e instanceof CofferError ? e.message : String(e);
      throw new CofferError('BAD_RECIPIENT', `${source} line ${i + 1}: ${msg}`);
    }
  }
  if (out.length === 0) throw new CofferError('BAD_RECIPIENT', `${source}: no recipients found`);
  return out;
}

export async function readRecipientsFile(path: string): Promise<Recipient[]> {
  return parseRecipientsText(await readFile(path, 'utf8'), path);
}
