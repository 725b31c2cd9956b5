/**
 * The coffer header: a magic line, typed stanzas, and a MAC line.
 *
 *   coffer/v1\n
 *   -> TYPE ARG…\n
 *   BODY (canonical unpadded base64, 64-column lines, last line shorter, possibly empty)\n
 *   …
 *   --- MAC\n            MAC = HMAC-SHA256(HKDF(K, info "header"), bytes from "c" of the magic through "---")
 *
 * Parsing is strict: one canonical encoding per header, bounded in size (see docs/FORMAT.md).
 */
import { timingSafeEqual } from 'node:crypto';
import { CofferError } from '../errors';
import type { Stanza } from '../keys/types';
import { decodeB64, encodeB64 } from './base64';
import {
  BODY_LINE_CHARS, MAGIC_LINE, MAGIC_PREFIX, MAX_HEADER_BYTES, MAX_STANZA_ARGS, MAX_STANZAS,
} from './constants';
import { headerMac } from './kdf';

const ARG = /^[\x21-\x7e]+$/;
const MAC_B64_CHARS = 43;

export interface ParsedHeader {
  readonly stanzas: Stanza[];
  /** The bytes the MAC covers: magic line through "---". */
  readonly macInput: Buffer;
  readonly mac: Buffer;
  /** Total header length in bytes, MAC line included. */
  readonly length: number;
}

function bad(msg: string): CofferError {
  return new CofferError('HEADER_INVALID', `invalid header: ${msg}`);
}

export function encodeStanza(s: Stanza): string {
  if (!ARG.test(s.type)) throw new RangeError(`invalid stanza type ${JSON.stringify(s.type)}`);
  if (s.args.length > MAX_STANZA_ARGS) throw new RangeError('too many stanza arguments');
  for (const a of s.args) if (!ARG.test(a)) throw new RangeError(`invalid stanza argument ${JSON.stringify(a)}`);
  const b64 = encodeB64(s.body);
  const lines: string[] = [];
  for (let i = 0; i <= b64.length; i += BODY_LINE_CHARS) lines.push(b64.slice(i, i + BODY_LINE_CHARS));
  // A body ends with a line shorter than 64 characters; if the last one is full, an empty line follows.
  return `-> ${[s.type, ...s.args].join(' ')}\n${lines.join('\n')}\n`;
}

/** The MAC input (magic line, stanzas, "---") for these stanzas. */
export function headerMacInput(stanzas: readonly Stanza[]): Buffer {
  if (stanzas.length === 0) throw new RangeError('a header needs at least one stanza');
  if (stanzas.length > MAX_STANZAS) throw new CofferError('HEADER_TOO_LARGE', `too many recipients (${stanzas.length}; at most ${MAX_STANZAS})`);
  return Buffer.from(`${MAGIC_LINE}\n${stanzas.map(encodeStanza).join('')}---`, 'latin1');
}

/** Encodes a complete header, MAC line included, for file key `fileKey`. */
export function encodeHeader(stanzas: readonly Stanza[], fileKey: Uint8Array): Buffer {
  const macInput = headerMacInput(stanzas);
  const mac = headerMac(fileKey, macInput);
  const out = Buffer.concat([macInput, Buffer.from(` ${encodeB64(mac)}\n`, 'latin1')]);
  if (out.length > MAX_HEADER_BYTES) throw new CofferError('HEADER_TOO_LARGE', `header would be ${out.length} bytes; at most ${MAX_HEADER_BYTES}`);
  return out;
}

/**
 * Finds the end of the header in `bytes` (the index just past the MAC line's newline), or -1 if
 * more bytes are needed. Throws as soon as the prefix cannot be a valid header or exceeds the bound.
 */
export function findHeaderEnd(bytes: Buffer): number {
  // Check the magic as early as possible so that a non-coffer file fails fast.
  const want = `${MAGIC_LINE}\n`;
  const probe = bytes.subarray(0, want.length).toString('latin1');
  if (!want.startsWith(probe)) {
    const p = MAGIC_PREFIX.length;
    if (probe.slice(0, p) === MAGIC_PREFIX) {
      throw new CofferError('UNSUPPORTED_VERSION', `unsupported format version; this build reads ${MAGIC_LINE}`);
    }
    if (!MAGIC_PREFIX.startsWith(probe.slice(0, p))) throw new CofferError('BAD_MAGIC', `not a coffer file (it does not start with "${MAGIC_LINE}")`);
  }
  const limit = Math.min(bytes.length, MAX_HEADER_BYTES);
  let lineStart = 0;
  while (lineStart < limit) {
    const nl = bytes.indexOf(0x0a, lineStart);
    if (nl < 0 || nl >= MAX_HEADER_BYTES) break;
    if (bytes[lineStart] === 0x2d && bytes[lineStart + 1] === 0x2d && bytes[lineStart + 2] === 0x2d) return nl + 1;
    lineStart = nl + 1;
  }
  if (bytes.length >= MAX_HEADER_BYTES) {
    throw new CofferError('HEADER_TOO_LARGE', `header exceeds ${MAX_HEADER_BYTES} bytes`);
  }
  return -1;
}

/** Parses exactly one header occupying all of `bytes` (use findHeaderEnd first). */
export function parseHeader(bytes: Buffer): ParsedHeader {
  if (bytes.length > MAX_HEADER_BYTES) throw new CofferError('HEADER_TOO_LARGE', `header exceeds ${MAX_HEADER_BYTES} bytes`);
  for (const b of bytes) if (b !== 0x0a && (b < 0x20 || b > 0x7e)) throw bad('non-printable byte');
  const text = bytes.toString('latin1');
  if (!text.endsWith('\n')) throw bad('missing final newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines[0] !== MAGIC_LINE) {
    if ((lines[0] ?? '').startsWith(MAGIC_PREFIX)) throw new CofferError('UNSUPPORTED_VERSION', `unsupported format version; this build reads ${MAGIC_LINE}`);
    throw new CofferError('BAD_MAGIC', `not a coffer file (it does not start with "${MAGIC_LINE}")`);
  }
  const stanzas: Stanza[] = [];
  let i = 1;
  for (;;) {
    const line = lines[i];
    if (line === undefined) throw bad('missing MAC line');
    if (line.startsWith('---')) break;
    if (!line.startsWith('-> ')) throw bad(`line ${i + 1}: expected a stanza ("-> ") or the MAC line ("---")`);
    const parts = line.slice(3).split(' ');
    for (const p of parts) if (!ARG.test(p)) throw bad(`line ${i + 1}: empty or invalid stanza argument`);
    const [type, ...args] = parts as [string, ...string[]];
    if (args.length > MAX_STANZA_ARGS) throw bad(`line ${i + 1}: too many stanza arguments`);
    i++;
    let b64 = '';
    for (;;) {
      const bodyLine = lines[i];
      if (bodyLine === undefined) throw bad('stanza body not terminated');
      if (bodyLine.length > BODY_LINE_CHARS) throw bad(`line ${i + 1}: body line longer than ${BODY_LINE_CHARS} characters`);
      b64 += bodyLine;
      i++;
      if (bodyLine.length < BODY_LINE_CHARS) break;
    }
    const body = decodeB64(b64);
    if (!body) throw bad(`stanza ${stanzas.length + 1}: body is not canonical base64`);
    stanzas.push({ type, args, body });
    if (stanzas.length > MAX_STANZAS) throw new CofferError('HEADER_TOO_LARGE', `more than ${MAX_STANZAS} stanzas`);
  }
  if (stanzas.length === 0) throw bad('no stanzas');
  const macLine = lines[i] ?? '';
  if (i !== lines.length - 1) throw bad('bytes after the MAC line');
  if (!macLine.startsWith('--- ') || macLine.length !== 4 + MAC_B64_CHARS) throw bad('malformed MAC line');
  const mac = decodeB64(macLine.slice(4));
  if (!mac || mac.length !== 32) throw bad('MAC is not canonical base64');
  const macInputLength = bytes.length - 1 - (macLine.length - 3);
  return { stanzas, macInput: bytes.subarray(0, macInputLength), mac, length: bytes.length };
}

/** Throws HEADER_MAC unless the header's MAC verifies under `fileKey`. */
export function verifyHeaderMac(header: ParsedHeader, fileKey: Uint8Array): void {
  const expected = headerMac(fileKey, header.macInput);
  if (!timingSafeEqual(expected, header.mac)) {
    throw new CofferError('HEADER_MAC', 'file header was modified (header MAC does not match)');
  }
}
