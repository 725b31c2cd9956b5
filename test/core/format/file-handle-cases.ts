/**
 * The file-to-file path (encryptFileHandle / decryptFileHandle / sealFileHandle), run once per libsodium
 * backend by file-handle.test.ts (sodium-native) and file-handle-wasm.test.ts (libsodium-wrappers).
 * It must write exactly the bytes the stream path writes, and read everything the stream path reads.
 */
import { createHash, randomBytes } from 'node:crypto';
import { fstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initSodium, type SodiumBackend } from '../../../main/core/crypto/sodium';
import { CofferError } from '../../../main/core/errors';
import { CHUNK_PLAINTEXT } from '../../../main/core/format/constants';
import {
  decryptFile, decryptFileHandle, encryptFile, encryptFileHandle, sealFileHandle, type FileHandleOptions,
} from '../../../main/core/format/file';
import { CHUNK_CIPHERTEXT, PayloadSealer, decryptPayload } from '../../../main/core/format/stream';
import { PassphraseIdentity } from '../../../main/core/keys/passphrase';
import { nonInteractiveUI, type Identity } from '../../../main/core/keys/types';
import { X25519Identity } from '../../../main/core/keys/x25519';
import { sink } from '../../helpers/streams';
import { loadVectors } from '../../helpers/vectors';

const C = CHUNK_PLAINTEXT;
/** The path reads 16 chunks per step and keeps 4 steps in rotation. */
const STEP = 16 * C;

export function fileHandleCases(backend: SodiumBackend['name']): void {
  let work: string;
  let n = 0;
  const file = (name: string): string => path.join(work, `${n++}-${name}`);
  let id: X25519Identity;

  beforeAll(async () => {
    expect((await initSodium()).name).toBe(backend);
    id = X25519Identity.generate();
    work = mkdtempSync(path.join(os.tmpdir(), 'coffer-fh-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  async function withHandles<T>(input: string, output: string, fn: (src: FileHandle, dst: FileHandle) => Promise<T>): Promise<T> {
    const src = await open(input, 'r');
    const dst = await open(output, 'w');
    try {
      return await fn(src, dst);
    } finally {
      await src.close();
      await dst.close();
    }
  }

  async function encryptToFile(pt: Buffer, opts: FileHandleOptions = {}): Promise<string> {
    const input = file('pt');
    writeFileSync(input, pt);
    const output = file('enc');
    const r = await withHandles(input, output, (s, d) => encryptFileHandle(s, d, [id.recipient()], opts));
    expect(r.plaintextBytes).toBe(pt.length);
    return output;
  }

  async function decryptToBuffer(ct: string, ids: Identity[] = [id], opts: FileHandleOptions = {}): Promise<Buffer> {
    const output = file('dec');
    await withHandles(ct, output, (s, d) => decryptFileHandle(s, d, ids, nonInteractiveUI, opts));
    return readFileSync(output);
  }

  const viaStream = async (ct: Buffer): Promise<Buffer> => {
    const out = sink();
    await decryptFile(Readable.from([ct]), out.stream, [id], nonInteractiveUI);
    return out.bytes();
  };

  describe(`file-to-file path (${backend})`, () => {
    const sizes = [0, 1, C - 1, C, C + 1, 2 * C + 500, STEP - 1, STEP, STEP + 1, 4 * STEP + C + 7, 6 * 1024 * 1024 + 123];

    for (const durable of [false, true]) {
      it(`round-trips sizes ${sizes.join(', ')}${durable ? ' (durable: writeback while writing)' : ''}, readable by the stream path too`, async () => {
        for (const size of sizes) {
          const pt = randomBytes(size);
          const enc = await encryptToFile(pt, { durable });
          const ct = readFileSync(enc);
          expect((await decryptToBuffer(enc, [id], { durable })).equals(pt), `size ${size}`).toBe(true);
          expect((await viaStream(ct)).equals(pt), `size ${size} via stream`).toBe(true);
          // And the stream path's output opens on the file path.
          const out = sink();
          await encryptFile(Readable.from(size ? [pt] : []), out.stream, [id.recipient()]);
          const streamed = file('streamed');
          writeFileSync(streamed, out.bytes());
          expect(out.bytes().length, `size ${size}: same length on both paths`).toBe(ct.length);
          expect((await decryptToBuffer(streamed)).equals(pt), `size ${size} from stream`).toBe(true);
        }
      });
    }

    it('round-trips random sizes around step and chunk boundaries (property)', async () => {
      const near = (base: number): fc.Arbitrary<number> => fc.integer({ min: Math.max(0, base - 40), max: base + 40 });
      await fc.assert(fc.asyncProperty(
        fc.oneof(fc.integer({ min: 0, max: 3 * STEP }), near(STEP), near(2 * STEP), near(4 * STEP), near(C)),
        async (size) => {
          const pt = randomBytes(size);
          const enc = await encryptToFile(pt);
          expect((await decryptToBuffer(enc)).equals(pt)).toBe(true);
        },
      ), { numRuns: 25 });
    });

    it('sealFileHandle writes a bare payload at an offset', async () => {
      const pt = randomBytes(2 * STEP + 99);
      const input = file('pt');
      writeFileSync(input, pt);
      const output = file('blob');
      writeFileSync(output, Buffer.from('0123456789'));
      const key = randomBytes(32);
      const written = await withHandles(input, output, async (s) => {
        const d = await open(output, 'r+');
        try {
          return await sealFileHandle(new PayloadSealer(key), s, d, 10, { durable: true });
        } finally {
          await d.close();
        }
      });
      const blob = readFileSync(output);
      expect(blob.length).toBe(10 + written);
      const out = sink();
      await new Promise<void>((resolve, reject) => {
        Readable.from([blob.subarray(10)]).pipe(decryptPayload(key)).on('error', reject).pipe(out.stream).on('finish', resolve);
      });
      expect(out.bytes().equals(pt)).toBe(true);
    });

    it('gives every frozen format vector the outcome it expects', async () => {
      const vectors = loadVectors();
      expect(vectors.length).toBeGreaterThan(15);
      for (const v of vectors) {
        const ids: Identity[] = [];
        if (v.meta.identity) ids.push(X25519Identity.parse(v.meta.identity));
        if (v.meta.passphrase) ids.push(new PassphraseIdentity(v.meta.passphrase));
        const input = file(`${v.name}.vec`);
        writeFileSync(input, v.file);
        const run = decryptToBuffer(input, ids);
        if (v.meta.expect === 'success') {
          const pt = await run;
          expect(pt.length, v.name).toBe(Number(v.meta['plaintext-size']));
          expect(createHash('sha256').update(pt).digest('hex'), v.name).toBe(v.meta['plaintext-sha256']);
        } else {
          const e = await run.then(() => null, (x: unknown) => x);
          expect(e, v.name).toBeInstanceOf(CofferError);
          expect((e as CofferError).code, v.name).toBe(v.meta['error-code']);
        }
      }
    });

    it('detects tampering past the first step, having written only authenticated plaintext', async () => {
      const pt = randomBytes(3 * STEP);
      const enc = await encryptToFile(pt);
      const ct = readFileSync(enc);
      ct[ct.length - STEP] = (ct[ct.length - STEP] as number) ^ 1; // inside the last step
      writeFileSync(enc, ct);
      const output = file('dec');
      const e = await withHandles(enc, output, (s, d) => decryptFileHandle(s, d, [id], nonInteractiveUI)).then(() => null, (x: unknown) => x);
      expect(e).toBeInstanceOf(CofferError);
      expect((e as CofferError).code).toBe('PAYLOAD_TAMPERED');
      const written = readFileSync(output);
      expect(written.length).toBeLessThan(pt.length);
      expect(written.equals(pt.subarray(0, written.length))).toBe(true);
    });

    /** A handle on a slow disk: every write and sync takes `ms` longer; counts the operations in flight. */
    function slow(fh: FileHandle, ms: number): { handle: FileHandle; inFlight: () => number } {
      let inFlight = 0;
      const delayed = <T>(p: Promise<T>): Promise<T> => {
        inFlight++;
        return p.then((v) => new Promise<T>((r) => setTimeout(() => r(v), ms))).finally(() => { inFlight--; });
      };
      const handle = new Proxy(fh, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver) as unknown;
          if (typeof v !== 'function') return v;
          const f = (v as (...a: unknown[]) => unknown).bind(target);
          return prop === 'write' || prop === 'datasync' ? (...a: unknown[]) => delayed(f(...a) as Promise<unknown>) : f;
        },
      });
      return { handle, inFlight: () => inFlight };
    }

    for (const dir of ['encrypt', 'decrypt'] as const) {
      it(`cancelling ${dir} mid-file is CANCELLED, and no write is still in flight afterwards (slow disk)`, async () => {
        const pt = randomBytes(12 * STEP);
        const input = dir === 'encrypt' ? file('pt') : await encryptToFile(pt);
        if (dir === 'encrypt') writeFileSync(input, pt);
        const output = file('out');
        const ac = new AbortController();
        const opts: FileHandleOptions = { durable: true, signal: ac.signal, onProgress: (b) => { if (b >= 3 * STEP) ac.abort(); } };
        const src = await open(input, 'r');
        const real = await open(output, 'w');
        const dst = slow(real, 30);
        let pending = -1;
        const e = await (dir === 'encrypt'
          ? encryptFileHandle(src, dst.handle, [id.recipient()], opts)
          : decryptFileHandle(src, dst.handle, [id], nonInteractiveUI, opts)).then(() => null, (x: unknown) => {
          pending = dst.inFlight();
          return x;
        });
        expect(e).toBeInstanceOf(CofferError);
        expect((e as CofferError).code).toBe('CANCELLED');
        // When the promise settles nothing is in flight, so the caller's cleanup cannot race a late write.
        // (Checked against a mutant whose finally does not await the writes: it fails here with 2-3 in flight.)
        expect(pending).toBe(0);
        const size = fstatSync(real.fd).size;
        expect(size).toBeGreaterThan(0);
        expect(size).toBeLessThan(pt.length);
        await src.close();
        await real.close();
        rmSync(output);
        expect(readdirSync(work)).not.toContain(path.basename(output));
      });
    }

    it('ATTACK: one chunk tampered in the middle, met with reads ahead and writes behind in flight, releases only the authenticated plaintext before it', async () => {
      const pt = randomBytes(12 * STEP + 777);
      const enc = await encryptToFile(pt);
      // Positive control: untampered, the same file decrypts in full through the same slow disk.
      const whole = file('dec');
      await withHandles(enc, whole, async (s, d) => { await decryptFileHandle(s, slow(d, 10).handle, [id], nonInteractiveUI, { durable: true }); });
      expect(readFileSync(whole).equals(pt)).toBe(true);
      // The attack: flip one bit in chunk 100 (0-based) of 193, in the seventh step of the file.
      const target = 100;
      const ct = readFileSync(enc);
      const at = ct.length - (777 + 17) - (Math.floor(pt.length / C) - target) * CHUNK_CIPHERTEXT + 5;
      ct[at] = (ct[at] as number) ^ 0x01;
      writeFileSync(enc, ct);
      const output = file('dec');
      let pending = -1;
      const e = await withHandles(enc, output, async (s, d) => {
        const dst = slow(d, 10); // several writes are still in flight when the bad chunk is met
        return decryptFileHandle(s, dst.handle, [id], nonInteractiveUI, { durable: true })
          .then(() => null, (x: unknown) => { pending = dst.inFlight(); return x; });
      });
      expect(e).toBeInstanceOf(CofferError);
      expect((e as CofferError).code).toBe('PAYLOAD_TAMPERED');
      expect((e as CofferError).message).toBe(`file was modified (chunk ${target + 1} failed authentication)`);
      expect(pending).toBe(0);
      // Whole steps that authenticated, all before the bad chunk; nothing of it or after it.
      // (Checked against a mutant decryptFileHandle that writes out the failing step instead of throwing:
      // it wrote 7 MiB, past the bad chunk, and fails here.)
      const written = readFileSync(output);
      expect(written.length).toBeGreaterThan(0);
      expect(written.length).toBeLessThanOrEqual(target * C);
      expect(written.equals(pt.subarray(0, written.length))).toBe(true);
    });

    /** A source handle whose positional reads go through `read` (to shorten or cut them). */
    function reshapeReads(fh: FileHandle, read: (buf: Buffer, off: number, len: number, pos: number) => Promise<{ bytesRead: number }>): FileHandle {
      return new Proxy(fh, {
        get(target, prop, receiver) {
          if (prop === 'read') return (buf: Buffer, off: number, len: number, pos: number) => read(buf, off, len, pos);
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    }

    it('short reads in the middle of a step are continued: same bytes out', async () => {
      const pt = randomBytes(5 * STEP + 321);
      const input = file('pt');
      writeFileSync(input, pt);
      const output = file('enc');
      await withHandles(input, output, async (s, d) => {
        // Every read returns at most a third of what was asked (as a read interrupted by a signal may).
        const src = reshapeReads(s, (buf, off, len, pos) => s.read(buf, off, Math.max(1, Math.floor(len / 3)), pos));
        await encryptFileHandle(src, d, [id.recipient()]);
      });
      expect((await decryptToBuffer(output)).equals(pt)).toBe(true);
    });

    it('a step cut short is the end of the file: reads ahead that find more data (the file grew) leave no gap', async () => {
      const pt = randomBytes(8 * STEP);
      const input = file('pt');
      writeFileSync(input, pt);
      const cut = 2 * STEP + 1000; // the file "ends" here for the read that reaches it first
      let cutDone = false;
      const output = file('enc');
      const r = await withHandles(input, output, async (s, d) => {
        const src = reshapeReads(s, async (buf, off, len, pos) => {
          if (!cutDone && pos < cut && pos + len > cut) {
            cutDone = true;
            await new Promise((res) => setTimeout(res, 50)); // the reads after it are issued (and done) first
            return s.read(buf, off, cut - pos, pos);
          }
          if (pos === cut && cutDone) return { bytesRead: 0 }; // end of file, then the file grows
          return s.read(buf, off, len, pos);
        });
        return encryptFileHandle(src, d, [id.recipient()]);
      });
      // Reads for steps 3 and 4 were in flight and found data; none of it follows the cut.
      // (Checked against a loop without the `bytesRead < STEP` stop: it sealed steps 3 and 4 after the cut.)
      expect(r.plaintextBytes).toBe(cut);
      expect((await decryptToBuffer(output)).equals(pt.subarray(0, cut))).toBe(true);
    });

    it('a slow disk changes nothing in the output', async () => {
      const pt = randomBytes(5 * STEP + 3);
      const input = file('pt');
      writeFileSync(input, pt);
      const output = file('enc');
      const src = await open(input, 'r');
      const real = await open(output, 'w');
      await encryptFileHandle(src, slow(real, 5).handle, [id.recipient()], { durable: true });
      await src.close();
      await real.close();
      expect((await decryptToBuffer(output)).equals(pt)).toBe(true);
    });

    it('an I/O error while reading ends in a rejected promise, not a crash', async () => {
      const dirHandle = await open(work, 'r'); // reading a directory fails with EISDIR
      const output = file('out');
      const dst = await open(output, 'w');
      try {
        await expect(encryptFileHandle(dirHandle, dst, [id.recipient()])).rejects.toMatchObject({ code: 'EISDIR' });
      } finally {
        await dirHandle.close();
        await dst.close();
      }
      expect(statSync(output).size).toBeLessThan(1024); // the header at most
    });
  });
}
