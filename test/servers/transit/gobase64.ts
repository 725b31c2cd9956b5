/**
 * Go's `encoding/base64.StdEncoding.DecodeString`, re-implemented from its documented behaviour so
 * the test server accepts and rejects exactly what Vault does:
 *   - the standard alphabet only (no URL-safe `-`/`_`);
 *   - padding is required (`QQ` is an error, `QQ==` is fine);
 *   - `\r` and `\n` anywhere are skipped;
 *   - anything else, including spaces and data after the padding, is a CorruptInputError whose
 *     message is `illegal base64 data at input byte N` with Go's offset N;
 *   - non-zero trailing bits are accepted (StdEncoding is not `.Strict()`).
 * Node's `Buffer.from(s, 'base64')` is far more lenient, which is why the server needs this.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = new Int16Array(256).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;
const PAD = 0x3d; // '='
const CR = 0x0d;
const LF = 0x0a;

export class GoBase64Error extends Error {
  readonly offset: number;
  constructor(offset: number) {
    super(`illegal base64 data at input byte ${offset}`);
    this.name = 'GoBase64Error';
    this.offset = offset;
  }
}

const isNewline = (b: number | undefined): boolean => b === CR || b === LF;

/** Decodes like Go's StdEncoding.DecodeString; throws GoBase64Error with Go's message and offset. */
export function goStdDecode(input: string): Buffer {
  const src = Buffer.from(input, 'utf8');
  const out: number[] = [];
  let si = 0;
  for (;;) {
    // One quantum: up to 4 symbols, skipping newlines.
    const sym = [0, 0, 0, 0];
    let count = 4;
    let end = false;
    for (let j = 0; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return Buffer.from(out);
        // Input ends inside a quantum: with padding required this is always corrupt.
        throw new GoBase64Error(si - j);
      }
      const c = src[si] as number;
      si++;
      const v = DECODE[c] as number;
      if (v >= 0) {
        sym[j] = v;
        continue;
      }
      if (isNewline(c)) {
        j--;
        continue;
      }
      if (c !== PAD) throw new GoBase64Error(si - 1);
      // Padding: valid only after 2 or 3 symbols.
      if (j === 0 || j === 1) throw new GoBase64Error(si - 1);
      if (j === 2) {
        while (si < src.length && isNewline(src[si])) si++;
        if (si === src.length) throw new GoBase64Error(src.length);
        if (src[si] !== PAD) throw new GoBase64Error(si - 1);
        si++;
      }
      while (si < src.length && isNewline(src[si])) si++;
      if (si < src.length) throw new GoBase64Error(si); // trailing garbage after padding
      count = j;
      end = true;
      break;
    }
    const val = ((sym[0] as number) << 18) | ((sym[1] as number) << 12) | ((sym[2] as number) << 6) | (sym[3] as number);
    out.push((val >> 16) & 0xff);
    if (count >= 3) out.push((val >> 8) & 0xff);
    if (count === 4) out.push(val & 0xff);
    if (end) return Buffer.from(out);
  }
}

/** Go's StdEncoding.EncodeToString (padded standard alphabet), which Node produces identically. */
export function goStdEncode(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}
