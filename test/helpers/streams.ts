import { Readable, Writable } from 'node:stream';

/** A Writable that collects everything written to it. */
export function sink(): { stream: Writable; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  return {
    stream: new Writable({ write(c: Buffer, _e, cb) { parts.push(c); cb(); } }),
    bytes: () => Buffer.concat(parts),
  };
}

/** A Readable yielding `data` in pieces of the given sizes (cycled), to exercise every write pattern. */
export function pieces(data: Buffer, sizes: number[]): Readable {
  const out: Buffer[] = [];
  let off = 0;
  let i = 0;
  while (off < data.length) {
    const n = Math.max(1, sizes[i++ % sizes.length] ?? 1);
    out.push(data.subarray(off, off + n));
    off += n;
  }
  return Readable.from(out);
}
