import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { initSodium } from '../../../main/core/crypto/sodium';
import { CofferError } from '../../../main/core/errors';
import { CHUNK_PLAINTEXT } from '../../../main/core/format/constants';
import { CHUNK_CIPHERTEXT, PAYLOAD_PREFIX_BYTES, decryptPayload, encryptPayload, openPayloadBuffer } from '../../../main/core/format/stream';
import { payloadSize, plaintextSize } from '../../../main/core/format/sizes';
import { pieces, sink } from '../../helpers/streams';

const C = CHUNK_PLAINTEXT;

async function seal(key: Uint8Array, pt: Buffer, writes: number[]): Promise<Buffer> {
  const out = sink();
  await pipeline(pieces(pt, writes), encryptPayload(key), out.stream);
  return out.bytes();
}

async function open(key: Uint8Array, ct: Buffer, writes: number[]): Promise<Buffer> {
  const out = sink();
  await pipeline(pieces(ct, writes), decryptPayload(key), out.stream);
  return out.bytes();
}

async function openError(key: Uint8Array, ct: Buffer): Promise<CofferError> {
  const e = await open(key, ct, [ct.length || 1]).then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(CofferError);
  return e as CofferError;
}

beforeAll(async () => {
  await initSodium();
});

describe('payload stream', () => {
  const key = randomBytes(32);

  it('round-trips the boundary sizes with write sizes down to 1 byte', async () => {
    for (const size of [0, C - 1, C, C + 1, 2 * C + 500]) {
      const pt = randomBytes(size);
      for (const w of [1, 17, 4096, C - 1, C, C + 1, 1 << 20]) {
        if (w < 64 && size > C + 1) continue; // 1-byte writes of 131 KiB are covered by the next size
        const ct = await seal(key, pt, [w]);
        expect(ct.length).toBe(payloadSize(size));
        expect(plaintextSize(ct.length)).toBe(size);
        expect((await open(key, ct, [w])).equals(pt)).toBe(true);
      }
    }
  });

  it('round-trips random sizes and random write patterns (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 * C + 10 }),
        fc.array(fc.integer({ min: 1, max: 2 * C }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 2 * C }), { minLength: 1, maxLength: 8 }),
        async (size, wIn, wOut) => {
          const pt = randomBytes(size);
          const ct = await seal(key, pt, wIn);
          expect((await open(key, ct, wOut)).equals(pt)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('makes the last chunk FINAL, an empty file a single empty FINAL chunk', async () => {
    const empty = await seal(key, Buffer.alloc(0), [1]);
    expect(empty.length).toBe(PAYLOAD_PREFIX_BYTES + 17);
    const full = await seal(key, randomBytes(C), [C]);
    expect(full.length).toBe(PAYLOAD_PREFIX_BYTES + CHUNK_CIPHERTEXT);
  });

  it('uses a fresh payload nonce each time', async () => {
    const pt = Buffer.from('same');
    const a = await seal(key, pt, [4]);
    const b = await seal(key, pt, [4]);
    expect(a.subarray(0, 16).equals(b.subarray(0, 16))).toBe(false);
  });

  it('rejects truncation at every position of a two-chunk payload with a typed error', async () => {
    const ct = await seal(key, randomBytes(C + 100), [C]);
    for (let cut = 0; cut < ct.length; cut += 997) {
      const e = await openError(key, ct.subarray(0, cut));
      expect(['TRUNCATED', 'PAYLOAD_TAMPERED']).toContain(e.code);
    }
    expect((await openError(key, ct.subarray(0, PAYLOAD_PREFIX_BYTES + CHUNK_CIPHERTEXT))).code).toBe('TRUNCATED');
  });

  it('rejects a wrong key, bit flips, and bytes after FINAL', async () => {
    const ct = await seal(key, randomBytes(2 * C), [C]);
    expect((await openError(randomBytes(32), ct)).message).toMatch(/chunk 1/);
    const flipped = Buffer.from(ct);
    const at = PAYLOAD_PREFIX_BYTES + CHUNK_CIPHERTEXT + 5;
    flipped[at] = (flipped[at] ?? 0) ^ 0x80;
    expect((await openError(key, flipped)).message).toBe('file was modified or truncated (chunk 2)');
    expect((await openError(key, Buffer.concat([ct, Buffer.from('x')]))).code).toBe('TRAILING_DATA');
  });

  it('emits only authenticated plaintext before failing', async () => {
    const pt = randomBytes(3 * C);
    const ct = await seal(key, pt, [C]);
    const bad = Buffer.from(ct);
    const at = PAYLOAD_PREFIX_BYTES + 2 * CHUNK_CIPHERTEXT + 3; // third chunk
    bad[at] = (bad[at] ?? 0) ^ 1;
    const out = sink();
    await expect(pipeline(Readable.from([bad]), decryptPayload(key), out.stream)).rejects.toThrow(/chunk 3/);
    expect(out.bytes().equals(pt.subarray(0, out.bytes().length))).toBe(true);
    expect(out.bytes().length).toBe(2 * C);
  });

  describe('openPayloadBuffer (a whole payload in memory)', () => {
    const openErr = (k: Uint8Array, ct: Buffer): CofferError => {
      try {
        openPayloadBuffer(k, ct);
      } catch (e) {
        expect(e).toBeInstanceOf(CofferError);
        return e as CofferError;
      }
      throw new Error('openPayloadBuffer accepted a bad payload');
    };

    it('opens what the stream path sealed, at the boundary sizes and random ones (property)', async () => {
      for (const size of [0, 1, C - 1, C, C + 1, 2 * C + 500, 4 * C]) {
        const pt = randomBytes(size);
        expect(openPayloadBuffer(key, await seal(key, pt, [C])).equals(pt), `size ${size}`).toBe(true);
      }
      await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: 3 * C + 10 }), async (size) => {
        const pt = randomBytes(size);
        expect(openPayloadBuffer(key, await seal(key, pt, [4096])).equals(pt)).toBe(true);
      }), { numRuns: 30 });
    });

    it('returns nothing for a bad payload: the same typed error as the stream path, input by input', async () => {
      const short = await seal(key, randomBytes(2 * C + 9), [C]); // last chunk short
      const full = await seal(key, randomBytes(2 * C), [C]); // last chunk full
      const flip = (ct: Buffer, at: number): Buffer => {
        const b = Buffer.from(ct);
        b[at] = (b[at] ?? 0) ^ 1;
        return b;
      };
      const bad: [string, Uint8Array, Buffer][] = [
        ['wrong key', randomBytes(32), short],
        ['last chunk flipped', key, flip(short, short.length - 3)],
        ['first chunk flipped', key, flip(short, PAYLOAD_PREFIX_BYTES + 3)],
        ['byte after a short FINAL', key, Buffer.concat([short, Buffer.from('x')])],
        ['byte after a full FINAL', key, Buffer.concat([full, Buffer.from('x')])],
        ['FINAL chunk removed', key, full.subarray(0, PAYLOAD_PREFIX_BYTES + CHUNK_CIPHERTEXT)],
        ...Array.from({ length: 8 }, (_, i): [string, Uint8Array, Buffer] => [`cut at ${i * 1499}`, key, short.subarray(0, i * 1499)]),
      ];
      const codes = new Set<string>();
      for (const [what, k, ct] of bad) {
        const e = openErr(k, ct);
        expect(e.code, what).toBe((await openError(k, ct)).code);
        codes.add(e.code);
      }
      expect([...codes].sort()).toEqual(['PAYLOAD_TAMPERED', 'TRAILING_DATA', 'TRUNCATED']);
    });
  });
});
