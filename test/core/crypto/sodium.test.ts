import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadNative, loadWasm, type SodiumBackend } from '../../../main/core/crypto/sodium';

describe('libsodium backends', () => {
  it('loads sodium-native here (the fast path)', () => {
    expect(loadNative()?.name).toBe('sodium-native');
  });

  it('are byte-compatible in both directions for every primitive we use', async () => {
    const n = loadNative() as SodiumBackend;
    const w = await loadWasm();
    for (const [a, b] of [[n, w], [w, n]] as const) {
      const key = a.randomBytes(32);
      const push = a.pushStream(key);
      const msgs = [randomBytes(0), randomBytes(1), randomBytes(65536)];
      const sealed = msgs.map((m, i) => push.push(m, i === msgs.length - 1));
      const pull = b.pullStream(push.header, key);
      expect(pull).not.toBeNull();
      sealed.forEach((c, i) => {
        const r = pull?.pull(c);
        expect(Buffer.from(r?.message ?? []).equals(msgs[i] as Buffer)).toBe(true);
        expect(r?.tag).toBe(i === msgs.length - 1 ? 3 : 0);
      });
      const nonce = a.randomBytes(24);
      const ct = a.aeadEncrypt(Buffer.from('wrap'), Buffer.from('ad'), nonce, key);
      expect(Buffer.from(b.aeadDecrypt(ct, Buffer.from('ad'), nonce, key) ?? []).toString()).toBe('wrap');
      expect(b.aeadDecrypt(ct, Buffer.from('xx'), nonce, key)).toBeNull();
      const kp = b.boxKeypair();
      expect(Buffer.from(a.scalarmultBase(kp.secretKey)).equals(Buffer.from(kp.publicKey))).toBe(true);
      const box = a.boxSeal(key, kp.publicKey);
      expect(Buffer.from(b.boxSealOpen(box, kp.publicKey, kp.secretKey) ?? []).equals(Buffer.from(key))).toBe(true);
      const salt = a.randomBytes(16);
      expect(Buffer.from(a.argon2id(32, Buffer.from('pw'), salt, 1, 8192 * 1024)).equals(Buffer.from(b.argon2id(32, Buffer.from('pw'), salt, 1, 8192 * 1024)))).toBe(true);
    }
  });

  it('wipes secure memory', () => {
    const n = loadNative() as SodiumBackend;
    const b = n.secureAlloc(32);
    b.fill(7);
    n.memzero(b);
    expect([...b].every((x) => x === 0)).toBe(true);
  });
});
