/**
 * The libsodium backend. sodium-native (N-API, fast) is used for bulk work; libsodium-wrappers
 * (WASM, the "sumo" build because it carries crypto_pwhash) is a byte-compatible fallback used
 * automatically where the native module cannot load, or on request with COFFER_SODIUM=wasm.
 * Only libsodium's own constructions are exposed; nothing here is a hand-written primitive.
 */
import { createRequire } from 'node:module';

const localRequire = createRequire(__filename);

export const SS_HEADERBYTES = 24;
export const SS_ABYTES = 17;
export const SS_KEYBYTES = 32;
export const TAG_MESSAGE = 0;
export const TAG_FINAL = 3;
export const AEAD_NPUBBYTES = 24;
export const AEAD_ABYTES = 16;
export const BOX_PUBLICKEYBYTES = 32;
export const BOX_SECRETKEYBYTES = 32;
export const BOX_SEALBYTES = 48;
export const PWHASH_SALTBYTES = 16;

export interface PushStream {
  readonly header: Uint8Array;
  /** Seals one chunk; `final` sets TAG_FINAL. Output is message length + 17 bytes. */
  push(message: Uint8Array, final: boolean): Uint8Array;
  /** Seals one chunk into `out`, which must be exactly message length + 17 bytes (avoids an allocation per chunk). */
  pushInto(message: Uint8Array, final: boolean, out: Uint8Array): void;
}

export interface PullStream {
  /** Opens one chunk, or returns null if it fails authentication. */
  pull(chunk: Uint8Array): { message: Uint8Array; tag: number } | null;
  /** Opens one chunk into `out` (exactly chunk length − 17 bytes); returns the tag, or -1 if it fails authentication. */
  pullInto(chunk: Uint8Array, out: Uint8Array): number;
}

export interface SodiumBackend {
  readonly name: 'sodium-native' | 'libsodium-wrappers';
  randomBytes(n: number): Uint8Array;
  pushStream(key: Uint8Array): PushStream;
  /** Returns null when the secretstream header is invalid for this key. */
  pullStream(header: Uint8Array, key: Uint8Array): PullStream | null;
  aeadEncrypt(message: Uint8Array, ad: Uint8Array | null, nonce: Uint8Array, key: Uint8Array): Uint8Array;
  /** Returns null when authentication fails. */
  aeadDecrypt(ciphertext: Uint8Array, ad: Uint8Array | null, nonce: Uint8Array, key: Uint8Array): Uint8Array | null;
  /** Argon2id v1.3. `memBytes` in bytes. */
  argon2id(outLen: number, password: Uint8Array, salt: Uint8Array, opsLimit: number, memBytes: number): Uint8Array;
  boxKeypair(): { publicKey: Uint8Array; secretKey: Uint8Array };
  scalarmultBase(secretKey: Uint8Array): Uint8Array;
  boxSeal(message: Uint8Array, publicKey: Uint8Array): Uint8Array;
  boxSealOpen(ciphertext: Uint8Array, publicKey: Uint8Array, secretKey: Uint8Array): Uint8Array | null;
  /** Guarded, locked memory where the backend has it (sodium_malloc); plain memory otherwise. */
  secureAlloc(n: number): Uint8Array;
  memzero(buf: Uint8Array): void;
}

/* ---------- sodium-native ---------- */

// Minimal typing of the parts of sodium-native we call (it ships no .d.ts).
interface SodiumNative {
  randombytes_buf(b: Buffer): void;
  crypto_secretstream_xchacha20poly1305_STATEBYTES: number;
  crypto_secretstream_xchacha20poly1305_init_push(state: Buffer, header: Buffer, key: Buffer): void;
  crypto_secretstream_xchacha20poly1305_push(state: Buffer, c: Buffer, m: Buffer, ad: Buffer | null, tag: number): number;
  crypto_secretstream_xchacha20poly1305_init_pull(state: Buffer, header: Buffer, key: Buffer): void;
  crypto_secretstream_xchacha20poly1305_pull(state: Buffer, m: Buffer, tag: Buffer, c: Buffer, ad: Buffer | null): number;
  crypto_aead_xchacha20poly1305_ietf_encrypt(c: Buffer, m: Buffer, ad: Buffer | null, nsec: null, npub: Buffer, k: Buffer): number;
  crypto_aead_xchacha20poly1305_ietf_decrypt(m: Buffer, nsec: null, c: Buffer, ad: Buffer | null, npub: Buffer, k: Buffer): number;
  crypto_pwhash(out: Buffer, passwd: Buffer, salt: Buffer, ops: number, mem: number, alg: number): void;
  crypto_pwhash_ALG_ARGON2ID13: number;
  crypto_box_keypair(pk: Buffer, sk: Buffer): void;
  crypto_scalarmult_base(q: Buffer, n: Buffer): void;
  crypto_box_seal(c: Buffer, m: Buffer, pk: Buffer): void;
  crypto_box_seal_open(m: Buffer, c: Buffer, pk: Buffer, sk: Buffer): boolean;
  sodium_malloc(n: number): Buffer;
  sodium_memzero(b: Buffer): void;
}

const buf = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));

function nativeBackend(s: SodiumNative): SodiumBackend {
  const STATE = s.crypto_secretstream_xchacha20poly1305_STATEBYTES;
  return {
    name: 'sodium-native',
    randomBytes(n) {
      const b = Buffer.alloc(n);
      if (n > 0) s.randombytes_buf(b);
      return b;
    },
    pushStream(key) {
      const state = Buffer.alloc(STATE);
      const header = Buffer.alloc(SS_HEADERBYTES);
      s.crypto_secretstream_xchacha20poly1305_init_push(state, header, buf(key));
      return {
        header,
        push(message, final) {
          const out = Buffer.allocUnsafe(message.byteLength + SS_ABYTES);
          s.crypto_secretstream_xchacha20poly1305_push(state, out, buf(message), null, final ? TAG_FINAL : TAG_MESSAGE);
          return out;
        },
        pushInto(message, final, out) {
          s.crypto_secretstream_xchacha20poly1305_push(state, buf(out), buf(message), null, final ? TAG_FINAL : TAG_MESSAGE);
        },
      };
    },
    pullStream(header, key) {
      if (header.byteLength !== SS_HEADERBYTES) return null;
      const state = Buffer.alloc(STATE);
      s.crypto_secretstream_xchacha20poly1305_init_pull(state, buf(header), buf(key));
      const tag = Buffer.alloc(1);
      return {
        pull(chunk) {
          if (chunk.byteLength < SS_ABYTES) return null;
          const out = Buffer.allocUnsafe(chunk.byteLength - SS_ABYTES);
          try {
            s.crypto_secretstream_xchacha20poly1305_pull(state, out, tag, buf(chunk), null);
          } catch {
            return null;
          }
          return { message: out, tag: tag[0] ?? 255 };
        },
        pullInto(chunk, out) {
          if (chunk.byteLength < SS_ABYTES || out.byteLength !== chunk.byteLength - SS_ABYTES) return -1;
          try {
            s.crypto_secretstream_xchacha20poly1305_pull(state, buf(out), tag, buf(chunk), null);
          } catch {
            return -1;
          }
          return tag[0] ?? -1;
        },
      };
    },
    aeadEncrypt(message, ad, nonce, key) {
      const out = Buffer.alloc(message.byteLength + AEAD_ABYTES);
      s.crypto_aead_xchacha20poly1305_ietf_encrypt(out, buf(message), ad ? buf(ad) : null, null, buf(nonce), buf(key));
      return out;
    },
    aeadDecrypt(ciphertext, ad, nonce, key) {
      if (ciphertext.byteLength < AEAD_ABYTES) return null;
      const out = Buffer.alloc(ciphertext.byteLength - AEAD_ABYTES);
      try {
        s.crypto_aead_xchacha20poly1305_ietf_decrypt(out, null, buf(ciphertext), ad ? buf(ad) : null, buf(nonce), buf(key));
      } catch {
        return null;
      }
      return out;
    },
    argon2id(outLen, password, salt, ops, mem) {
      const out = Buffer.alloc(outLen);
      s.crypto_pwhash(out, buf(password), buf(salt), ops, mem, s.crypto_pwhash_ALG_ARGON2ID13);
      return out;
    },
    boxKeypair() {
      const pk = Buffer.alloc(BOX_PUBLICKEYBYTES);
      const sk = Buffer.alloc(BOX_SECRETKEYBYTES);
      s.crypto_box_keypair(pk, sk);
      return { publicKey: pk, secretKey: sk };
    },
    scalarmultBase(sk) {
      const pk = Buffer.alloc(BOX_PUBLICKEYBYTES);
      s.crypto_scalarmult_base(pk, buf(sk));
      return pk;
    },
    boxSeal(m, pk) {
      const c = Buffer.alloc(m.byteLength + BOX_SEALBYTES);
      s.crypto_box_seal(c, buf(m), buf(pk));
      return c;
    },
    boxSealOpen(c, pk, sk) {
      if (c.byteLength < BOX_SEALBYTES) return null;
      const m = Buffer.alloc(c.byteLength - BOX_SEALBYTES);
      try {
        return s.crypto_box_seal_open(m, buf(c), buf(pk), buf(sk)) ? m : null;
      } catch {
        return null;
      }
    },
    secureAlloc(n) {
      return s.sodium_malloc(n);
    },
    memzero(b) {
      s.sodium_memzero(buf(b));
    },
  };
}

/* ---------- libsodium-wrappers (WASM) ---------- */

interface SodiumWasm {
  ready: Promise<void>;
  randombytes_buf(n: number): Uint8Array;
  crypto_secretstream_xchacha20poly1305_init_push(key: Uint8Array): { state: unknown; header: Uint8Array };
  crypto_secretstream_xchacha20poly1305_push(state: unknown, m: Uint8Array, ad: Uint8Array | null, tag: number): Uint8Array;
  crypto_secretstream_xchacha20poly1305_init_pull(header: Uint8Array, key: Uint8Array): unknown;
  crypto_secretstream_xchacha20poly1305_pull(state: unknown, c: Uint8Array, ad?: Uint8Array | null): { message: Uint8Array; tag: number } | false;
  crypto_aead_xchacha20poly1305_ietf_encrypt(m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array): Uint8Array;
  crypto_aead_xchacha20poly1305_ietf_decrypt(nsec: null, c: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array): Uint8Array;
  crypto_pwhash(outLen: number, passwd: Uint8Array, salt: Uint8Array, ops: number, mem: number, alg: number): Uint8Array;
  crypto_pwhash_ALG_ARGON2ID13: number;
  crypto_box_keypair(): { publicKey: Uint8Array; privateKey: Uint8Array };
  crypto_scalarmult_base(n: Uint8Array): Uint8Array;
  crypto_box_seal(m: Uint8Array, pk: Uint8Array): Uint8Array;
  crypto_box_seal_open(c: Uint8Array, pk: Uint8Array, sk: Uint8Array): Uint8Array;
  memzero(b: Uint8Array): void;
}

function wasmBackend(s: SodiumWasm): SodiumBackend {
  return {
    name: 'libsodium-wrappers',
    randomBytes: (n) => (n > 0 ? s.randombytes_buf(n) : new Uint8Array(0)),
    pushStream(key) {
      const { state, header } = s.crypto_secretstream_xchacha20poly1305_init_push(key);
      return {
        header,
        push: (m, final) => s.crypto_secretstream_xchacha20poly1305_push(state, m, null, final ? TAG_FINAL : TAG_MESSAGE),
        pushInto(m, final, out) {
          out.set(s.crypto_secretstream_xchacha20poly1305_push(state, m, null, final ? TAG_FINAL : TAG_MESSAGE));
        },
      };
    },
    pullStream(header, key) {
      if (header.byteLength !== SS_HEADERBYTES) return null;
      let state: unknown;
      try {
        state = s.crypto_secretstream_xchacha20poly1305_init_pull(header, key);
      } catch {
        return null;
      }
      return {
        pull(chunk) {
          if (chunk.byteLength < SS_ABYTES) return null;
          try {
            const r = s.crypto_secretstream_xchacha20poly1305_pull(state, chunk, null);
            return r === false ? null : { message: r.message, tag: r.tag };
          } catch {
            return null;
          }
        },
        pullInto(chunk, out) {
          const r = this.pull(chunk);
          if (!r || r.message.byteLength !== out.byteLength) return -1;
          out.set(r.message);
          return r.tag;
        },
      };
    },
    aeadEncrypt: (m, ad, nonce, key) => s.crypto_aead_xchacha20poly1305_ietf_encrypt(m, ad, null, nonce, key),
    aeadDecrypt(c, ad, nonce, key) {
      try {
        return s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, c, ad, nonce, key);
      } catch {
        return null;
      }
    },
    argon2id: (outLen, pw, salt, ops, mem) => s.crypto_pwhash(outLen, pw, salt, ops, mem, s.crypto_pwhash_ALG_ARGON2ID13),
    boxKeypair() {
      const kp = s.crypto_box_keypair();
      return { publicKey: kp.publicKey, secretKey: kp.privateKey };
    },
    scalarmultBase: (sk) => s.crypto_scalarmult_base(sk),
    boxSeal: (m, pk) => s.crypto_box_seal(m, pk),
    boxSealOpen(c, pk, sk) {
      try {
        return s.crypto_box_seal_open(c, pk, sk);
      } catch {
        return null;
      }
    },
    secureAlloc: (n) => new Uint8Array(n),
    memzero: (b) => s.memzero(b),
  };
}

/* ---------- selection ---------- */

let nativeCache: SodiumBackend | null | undefined;
let wasmCache: Promise<SodiumBackend> | undefined;

/** sodium-native, or null if it cannot be loaded on this platform. */
export function loadNative(): SodiumBackend | null {
  if (nativeCache === undefined) {
    try {
      nativeCache = nativeBackend(localRequire('sodium-native') as SodiumNative);
    } catch {
      nativeCache = null;
    }
  }
  return nativeCache;
}

export function loadWasm(): Promise<SodiumBackend> {
  wasmCache ??= (async () => {
    const s = localRequire('libsodium-wrappers-sumo') as SodiumWasm;
    await s.ready;
    return wasmBackend(s);
  })();
  return wasmCache;
}

let selected: SodiumBackend | undefined;

/**
 * The backend for this process: sodium-native unless it fails to load or COFFER_SODIUM=wasm.
 * Must be awaited once (the WASM fallback loads asynchronously); `sodium()` then returns it.
 */
export async function initSodium(): Promise<SodiumBackend> {
  if (selected) return selected;
  const native = process.env.COFFER_SODIUM === 'wasm' ? null : loadNative();
  selected = native ?? (await loadWasm());
  return selected;
}

/** The backend chosen by initSodium(); loads sodium-native synchronously if init was not awaited. */
export function sodium(): SodiumBackend {
  if (selected) return selected;
  const native = process.env.COFFER_SODIUM === 'wasm' ? null : loadNative();
  if (!native) throw new Error('libsodium not initialised: await initSodium() first');
  selected = native;
  return selected;
}
