import { beforeAll, describe, expect, it } from 'vitest';
import { initSodium } from '../../../main/core/crypto/sodium';
import { encodeB64 } from '../../../main/core/format/base64';
import { PassphraseIdentity, PassphraseRecipient, parsePassphraseStanza } from '../../../main/core/keys/passphrase';
import { nonInteractiveUI, type ProviderUI } from '../../../main/core/keys/types';

const fast = { opsLimit: 1, memKiB: 8192 };
beforeAll(async () => { await initSodium(); });

describe('passphrase (argon2id)', () => {
  it('wraps and unwraps; a wrong passphrase says so', async () => {
    const key = Buffer.alloc(32, 1);
    const stanzas = new PassphraseRecipient('hunter2', fast).wrap(key);
    expect(stanzas[0]?.args[1]).toBe('1');
    expect(Buffer.from((await new PassphraseIdentity('hunter2').unwrap(stanzas, nonInteractiveUI)) ?? []).equals(key)).toBe(true);
    await expect(new PassphraseIdentity('hunter3').unwrap(stanzas, nonInteractiveUI)).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE', message: 'wrong passphrase' });
  });

  it('asks through the UI only when a passphrase stanza is present', async () => {
    let asked = 0;
    const ui: ProviderUI = { requestSecret: () => { asked++; return Promise.resolve('pw'); }, notify: () => undefined };
    expect(await new PassphraseIdentity().unwrap([{ type: 'X25519', args: [], body: new Uint8Array(80) }], ui)).toBeNull();
    expect(asked).toBe(0);
    const stanzas = new PassphraseRecipient('pw', fast).wrap(Buffer.alloc(32));
    expect(await new PassphraseIdentity().unwrap(stanzas, ui)).not.toBeNull();
    expect(asked).toBe(1);
  });

  it('bounds parameters read from a file before deriving or prompting', async () => {
    const salt = encodeB64(Buffer.alloc(16, 2));
    const body = new Uint8Array(48);
    const mk = (ops: string, mem: string) => ({ type: 'argon2id', args: [salt, ops, mem], body });
    expect(() => parsePassphraseStanza(mk('3', String(4 * 1024 * 1024)))).toThrow(/above the maximum of 1024 MiB/);
    expect(() => parsePassphraseStanza(mk('17', '8192'))).toThrow(/passes/);
    expect(() => parsePassphraseStanza(mk('03', '8192'))).toThrow(/malformed/);
    expect(() => parsePassphraseStanza(mk('3', '99999999999'))).toThrow(/malformed/);
    let asked = false;
    const ui: ProviderUI = { requestSecret: () => { asked = true; return Promise.resolve('x'); }, notify: () => undefined };
    await expect(new PassphraseIdentity().unwrap([mk('3', String(4 * 1024 * 1024))], ui)).rejects.toMatchObject({ code: 'KDF_LIMITS' });
    expect(asked).toBe(false);
  });
});
