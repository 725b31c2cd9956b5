/**
 * Made the frozen vectors in test/vectors/format/ once. They are never regenerated: this script refuses
 * to overwrite an existing vector, and the tests read only the committed files. Kept so that a reader can
 * see how each vector was built. Run: npx tsx build/vectors/make-format-vectors.ts
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { initSodium, sodium } from '../../main/core/crypto/sodium';
import { encodeB64 } from '../../main/core/format/base64';
import { encryptFile } from '../../main/core/format/file';
import { encodeHeader, encodeStanza, headerMacInput } from '../../main/core/format/header';
import { headerMac } from '../../main/core/format/kdf';
import { encryptPayload, CHUNK_CIPHERTEXT, PAYLOAD_PREFIX_BYTES } from '../../main/core/format/stream';
import { PassphraseRecipient } from '../../main/core/keys/passphrase';
import type { Recipient, Stanza } from '../../main/core/keys/types';
import { X25519Identity } from '../../main/core/keys/x25519';

const dir = join(__dirname, '../../test/vectors/format');

async function collect(run: (w: Writable) => Promise<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  await run(new Writable({ write(c: Buffer, _e, cb) { parts.push(c); cb(); } }));
  return Buffer.concat(parts);
}

function save(name: string, meta: Record<string, string | number>, bytes: Buffer): void {
  const p = join(dir, `${name}.vec`);
  if (existsSync(p)) {
    console.log(`kept ${name} (vectors are frozen)`);
    return;
  }
  const head = Object.entries(meta).map(([k, v]) => `${k}: ${v}`).join('\n');
  writeFileSync(p, Buffer.concat([Buffer.from(`${head}\n\n`), bytes]));
  console.log(`wrote ${name}`);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function main(): Promise<void> {
  await initSodium();
  const id = X25519Identity.generate();
  const other = X25519Identity.generate();
  const idText = id.toString();
  const enc = (pt: Buffer, rs: Recipient[]): Promise<Buffer> => collect((w) => encryptFile(Readable.from([pt]), w, rs));
  const ok = (pt: Buffer, comment: string) => ({ expect: 'success', 'plaintext-size': pt.length, 'plaintext-sha256': sha(pt), identity: idText, comment });
  const fail = (code: string, comment: string, identity = idText) => ({ expect: 'failure', 'error-code': code, identity, comment });

  const sizes: [string, number][] = [['size-0', 0], ['size-1', 1], ['size-65535', 65535], ['size-65536', 65536], ['size-65537', 65537], ['size-131572', 2 * 65536 + 500]];
  const files = new Map<string, Buffer>();
  for (const [name, n] of sizes) {
    const pt = randomBytes(n);
    const f = await enc(pt, [id.recipient()]);
    files.set(name, f);
    save(name, ok(pt, `${n} bytes of random plaintext to one X25519 recipient`), f);
  }
  {
    const pt = randomBytes(1000);
    const a = X25519Identity.generate(); const b = X25519Identity.generate();
    save('several-recipients', ok(pt, 'three X25519 recipients; the identity is the second'), await enc(pt, [a.recipient(), id.recipient(), b.recipient()]));
  }
  {
    const pt = randomBytes(70000);
    const meta = { ...ok(pt, 'passphrase (argon2id, 2 passes, 8 MiB)'), passphrase: 'correct horse battery staple' } as Record<string, string | number>;
    delete meta.identity;
    save('passphrase', meta, await enc(pt, [new PassphraseRecipient('correct horse battery staple', { opsLimit: 2, memKiB: 8192 })]));
  }
  const f1 = files.get('size-65537') as Buffer;
  const headerEnd = f1.indexOf('\n---') + f1.subarray(f1.indexOf('\n---') + 1).indexOf('\n') + 2;
  {
    const f = Buffer.from(f1); const macPos = headerEnd - 10; f[macPos] = f[macPos] === 0x41 ? 0x42 : 0x41;
    save('bad-header-mac', fail('HEADER_MAC', 'one character of the header MAC changed'), f);
  }
  {
    const f = Buffer.from(f1); f[headerEnd + PAYLOAD_PREFIX_BYTES + 100] ^= 0x01;
    save('payload-bit-flip', fail('PAYLOAD_TAMPERED', 'one bit flipped in the first chunk'), f);
  }
  {
    save('final-chunk-removed', fail('TRUNCATED', 'size-65537 with its last (FINAL) chunk removed'), f1.subarray(0, headerEnd + PAYLOAD_PREFIX_BYTES + CHUNK_CIPHERTEXT));
  }
  {
    // After a full FINAL chunk the reader sees the extra byte as data after FINAL.
    save('trailing-bytes', fail('TRAILING_DATA', 'size-65536 with one byte after its full FINAL chunk'), Buffer.concat([files.get('size-65536') as Buffer, Buffer.from([0])]));
    // After a short FINAL chunk the extra byte lands inside that chunk, which then fails authentication.
    save('trailing-bytes-short-final', fail('PAYLOAD_TAMPERED', 'size-65537 with one byte after its 1-byte FINAL chunk: the last chunk no longer authenticates'), Buffer.concat([f1, Buffer.from([0])]));
  }
  {
    const f3 = files.get('size-131572') as Buffer;
    const h = f3.indexOf('\n---') + f3.subarray(f3.indexOf('\n---') + 1).indexOf('\n') + 2;
    const p = h + PAYLOAD_PREFIX_BYTES;
    const c1 = f3.subarray(p, p + CHUNK_CIPHERTEXT); const c2 = f3.subarray(p + CHUNK_CIPHERTEXT, p + 2 * CHUNK_CIPHERTEXT);
    save('chunks-swapped', fail('PAYLOAD_TAMPERED', 'first two chunks of size-131572 swapped'), Buffer.concat([f3.subarray(0, p), c2, c1, f3.subarray(p + 2 * CHUNK_CIPHERTEXT)]));
  }
  {
    save('no-matching-identity', fail('NO_IDENTITY', 'encrypted to another X25519 key'), await enc(randomBytes(10), [other.recipient()]));
  }
  const withHeader = async (stanzas: Stanza[], opts: { skipBound?: boolean; pt?: Buffer } = {}): Promise<Buffer> => {
    const k = randomBytes(32);
    const input = opts.skipBound
      ? Buffer.from(`coffer/v1\n${stanzas.map(encodeStanza).join('')}---`, 'latin1')
      : headerMacInput(stanzas);
    const header = opts.skipBound ? Buffer.concat([input, Buffer.from(` ${encodeB64(headerMac(k, input))}\n`)]) : encodeHeader(stanzas, k);
    const payload = await collect(async (w) => { await new Promise<void>((res, rej) => { const t = encryptPayload(k); t.on('data', (c: Buffer) => w.write(c)); t.on('end', () => res()); t.on('error', rej); t.end(opts.pt ?? Buffer.from('x')); }); });
    return Buffer.concat([header, payload]);
  };
  {
    const stanzas: Stanza[] = [];
    for (let i = 0; i < 560; i++) stanzas.push(...id.recipient().wrap(randomBytes(32)));
    save('oversize-header', fail('HEADER_TOO_LARGE', '560 X25519 stanzas: the header exceeds 64 KiB'), await withHeader(stanzas, { skipBound: true }));
  }
  {
    const st: Stanza = { type: 'argon2id', args: [encodeB64(randomBytes(16)), '3', String(4 * 1024 * 1024)], body: randomBytes(48) };
    const meta = fail('KDF_LIMITS', 'argon2id asking for 4 GiB of memory: refused before any allocation') as Record<string, string | number>;
    meta.passphrase = 'anything';
    save('excessive-argon2-memory', meta, await withHeader([st]));
    const st2: Stanza = { type: 'argon2id', args: [encodeB64(randomBytes(16)), '1000', '65536'], body: randomBytes(48) };
    save('excessive-argon2-passes', meta === undefined ? {} : { ...meta, comment: 'argon2id asking for 1000 passes' }, await withHeader([st2]));
  }
  {
    const f = Buffer.from(f1); f.write('coffer/v9', 0, 'latin1');
    save('unsupported-version', fail('UNSUPPORTED_VERSION', 'magic line coffer/v9'), f);
    const g = Buffer.from(f1); g.write('kopper', 0, 'latin1');
    save('bad-magic', fail('BAD_MAGIC', 'not a coffer file'), g);
  }
  {
    // The last body line has a non-zero padding bit: decodes in lenient decoders, rejected here.
    const text = f1.subarray(0, headerEnd).toString('latin1');
    const lines = text.split('\n');
    const i = lines.findIndex((l) => l.startsWith('-> X25519')) + 2; // second body line (16 chars)
    const last = lines[i] as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const v = alphabet.indexOf(last[last.length - 1] as string);
    lines[i] = last.slice(0, -1) + (alphabet[v ^ 1] as string);
    save('non-canonical-base64', fail('HEADER_INVALID', 'a stanza body whose base64 has non-zero trailing bits'), Buffer.concat([Buffer.from(lines.join('\n'), 'latin1'), f1.subarray(headerEnd)]));
  }
  {
    // A 65536-byte file sealed as one full MESSAGE chunk followed by an empty FINAL chunk (not canonical).
    const k = randomBytes(32);
    const na = sodium();
    const stanzas = id.recipient().wrap(k);
    const header = encodeHeader(stanzas, k);
    const nonce = randomBytes(16);
    const { payloadKey } = await import('../../main/core/format/kdf');
    const ps = na.pushStream(payloadKey(k, nonce));
    save('empty-final-chunk', fail('PAYLOAD_TAMPERED', 'a full MESSAGE chunk then an empty FINAL chunk: not the canonical encoding'),
      Buffer.concat([header, nonce, ps.header, ps.push(randomBytes(65536), false), ps.push(Buffer.alloc(0), true)]));
  }
}

void main();
