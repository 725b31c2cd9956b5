// The crypto floor for `npm run bench`: libsodium's secretstream (sodium-native, as Coffer uses it) over
// SIZE bytes in 64 KiB chunks, in memory, with no file I/O. Prints one JSON line:
//   {"seal": seconds, "open": seconds, "bytes": N}  (in-process time of the crypto loop alone)
// Usage: node build/bench-raw.mjs [SIZE_BYTES] [seal|open|both]
// The bench runs it as a whole process beside `coffer encrypt`, so that both pay Node's start-up.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const s = require('sodium-native');
const total = Number(process.argv[2] ?? 2 ** 30);
const what = process.argv[3] ?? 'both';
const C = 64 * 1024;
const A = s.crypto_secretstream_xchacha20poly1305_ABYTES;
const span = 256; // chunks per in-memory round (16 MiB of plaintext, reused)
const pt = Buffer.alloc(span * C, 0x5a); // the cipher's speed does not depend on the bytes
const key = Buffer.alloc(32);
s.randombytes_buf(key);
const state = Buffer.alloc(s.crypto_secretstream_xchacha20poly1305_STATEBYTES);
const header = Buffer.alloc(s.crypto_secretstream_xchacha20poly1305_HEADERBYTES);
const chunks = Math.ceil(total / C);
const now = () => Number(process.hrtime.bigint()) / 1e9;
const out = {};

if (what !== 'open') {
  const ct = Buffer.alloc(C + A);
  s.crypto_secretstream_xchacha20poly1305_init_push(state, header, key);
  const t0 = now();
  for (let i = 0; i < chunks; i++) {
    const o = (i % span) * C;
    s.crypto_secretstream_xchacha20poly1305_push(state, ct, pt.subarray(o, o + C), null, i === chunks - 1 ? 3 : 0);
  }
  out.seal = now() - t0;
}
if (what !== 'seal') {
  // Open rounds of `span` chunks sealed once in one stream; each round re-initialises the pull state.
  const sealed = Buffer.alloc(span * (C + A));
  s.crypto_secretstream_xchacha20poly1305_init_push(state, header, key);
  for (let i = 0; i < span; i++) {
    s.crypto_secretstream_xchacha20poly1305_push(state, sealed.subarray(i * (C + A), (i + 1) * (C + A)), pt.subarray(i * C, (i + 1) * C), null, 0);
  }
  const m = Buffer.alloc(C);
  const tag = Buffer.alloc(1);
  const t0 = now();
  for (let i = 0; i < chunks; i++) {
    if (i % span === 0) s.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key);
    const o = (i % span) * (C + A);
    s.crypto_secretstream_xchacha20poly1305_pull(state, m, tag, sealed.subarray(o, o + C + A), null);
  }
  out.open = now() - t0;
}
out.bytes = chunks * C;
console.log(JSON.stringify(out));
