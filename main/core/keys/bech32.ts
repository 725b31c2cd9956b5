import { bech32 } from 'bech32';
import { CofferError, type ErrorCode } from '../errors';

/** Bech32 (BIP-173) with a checksum, for recipient and identity strings. */
export function encodeBech32(hrp: string, data: Uint8Array, upper = false): string {
  const s = bech32.encode(hrp, bech32.toWords(data), 1023);
  return upper ? s.toUpperCase() : s;
}

/** Decodes `text` if its prefix is `hrp`; throws `code` for a bad checksum or encoding. */
export function decodeBech32(text: string, hrp: string, code: ErrorCode, what: string): Buffer {
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) throw new CofferError(code, `${what} mixes upper and lower case`);
  let decoded: { prefix: string; words: number[] };
  try {
    decoded = bech32.decode(text, 1023);
  } catch {
    throw new CofferError(code, `${what} is malformed or has a typo (checksum mismatch)`);
  }
  if (decoded.prefix.toLowerCase() !== hrp) throw new CofferError(code, `${what} has prefix "${decoded.prefix}", expected "${hrp}"`);
  try {
    return Buffer.from(bech32.fromWords(decoded.words));
  } catch {
    throw new CofferError(code, `${what} has invalid padding`);
  }
}
