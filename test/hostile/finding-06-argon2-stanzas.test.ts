/**
 * Issue 9, finding 6 (medium, W): every passphrase (Argon2id) stanza in a header was derived before
 * failing: 24 cheap stanzas took 6.4 s against 0.36 s for one, and at the allowed limits a crafted
 * file or slot could cost hours. Now a header may hold at most one argon2id stanza (as age allows one
 * scrypt stanza), refused with HEADER_INVALID before any derivation.
 *
 * The test counts Argon2id derivations through a spy on the libsodium backend. Positive control: a
 * one-stanza file costs exactly one derivation and decrypts, so the spy sees real work. Against the
 * code before this change (commit e93c914) the 24-stanza file cost 24 derivations and no typed refusal.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Readable, Writable } from 'node:stream';
import { initSodium, sodium } from '../../main/core/crypto/sodium';
import { decryptFile, encryptFile } from '../../main/core/format/file';
import { PassphraseIdentity, PassphraseRecipient } from '../../main/core/keys/passphrase';
import { nonInteractiveUI } from '../../main/core/keys/types';
import { encodeHeader, parseHeader } from '../../main/core/format/header';

const KDF = { opsLimit: 1, memKiB: 8 };

async function encryptTo(recipients: PassphraseRecipient[], text: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  await encryptFile(Readable.from([Buffer.from(text)]), new Writable({ write: (c: Buffer, _e, cb) => { parts.push(c); cb(); } }), recipients);
  return Buffer.concat(parts);
}

async function decrypt(file: Buffer, pass: string): Promise<string> {
  const parts: Buffer[] = [];
  await decryptFile(Readable.from([file]), new Writable({ write: (c: Buffer, _e, cb) => { parts.push(c); cb(); } }), [new PassphraseIdentity(pass)], nonInteractiveUI);
  return Buffer.concat(parts).toString('utf8');
}

afterEach(() => vi.restoreAllMocks());

describe('finding 6: a header with many argon2id stanzas', () => {
  it('positive control: one stanza costs one derivation and decrypts', async () => {
    await initSodium();
    const file = await encryptTo([new PassphraseRecipient('right', KDF)], 'secret');
    const spy = vi.spyOn(sodium(), 'argon2id');
    expect(await decrypt(file, 'right')).toBe('secret');
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('24 stanzas are refused with HEADER_INVALID before a single derivation', async () => {
    await initSodium();
    const recipients = Array.from({ length: 24 }, (_, i) => new PassphraseRecipient(`pass ${i}`, KDF));
    const file = await encryptTo(recipients, 'secret');
    expect(file.toString('latin1').split('\n').filter((l) => l.startsWith('-> argon2id ')).length).toBe(24);
    const spy = vi.spyOn(sodium(), 'argon2id');
    for (const pass of ['wrong', 'pass 23']) {
      await expect(decrypt(file, pass)).rejects.toMatchObject({ code: 'HEADER_INVALID', message: expect.stringMatching(/24 passphrase \(argon2id\) stanzas; at most one/) });
    }
    expect(spy).not.toHaveBeenCalled();
  });

  it('a passphrase slot whose secret holds two argon2id stanzas is refused the same way', async () => {
    await initSodium();
    const na = sodium();
    const sk = Uint8Array.from(na.randomBytes(32));
    const stanzas = [...new PassphraseRecipient('a', KDF).wrap(sk), ...new PassphraseRecipient('b', KDF).wrap(sk)];
    const header = parseHeader(encodeHeader(stanzas, sk));
    const spy = vi.spyOn(sodium(), 'argon2id');
    await expect(new PassphraseIdentity('a').unwrap(header.stanzas, nonInteractiveUI)).rejects.toMatchObject({ code: 'HEADER_INVALID' });
    expect(spy).not.toHaveBeenCalled();
  });
});
