import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { initSodium } from '../../../main/core/crypto/sodium';
import { decryptFile, encryptFile, unwrapKey } from '../../../main/core/format/file';
import type { Identity, Stanza } from '../../../main/core/keys/types';
import { X25519Identity } from '../../../main/core/keys/x25519';
import { nonInteractiveUI } from '../../../main/core/keys/types';
import { sink } from '../../helpers/streams';

beforeAll(async () => { await initSodium(); });

describe('whole files', () => {
  it('cancelling encryption or decryption is a typed CANCELLED error', async () => {
    const id = X25519Identity.generate();
    const ac = new AbortController();
    const slow = new Readable({ read() { setTimeout(() => { this.push(randomBytes(65536)); ac.abort(); }, 5); } });
    await expect(encryptFile(slow, sink().stream, [id.recipient()], { signal: ac.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
    const out = sink();
    await encryptFile(Readable.from([randomBytes(300_000)]), out.stream, [id.recipient()]);
    const ac2 = new AbortController();
    ac2.abort();
    await expect(decryptFile(Readable.from([out.bytes()]), sink().stream, [id], nonInteractiveUI, { signal: ac2.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('tries non-interactive identities first and never prompts when one matches', async () => {
    const id = X25519Identity.generate();
    const stanzas = id.recipient().wrap(Buffer.alloc(32, 5));
    const order: string[] = [];
    const interactive: Identity = { kind: 'prompting', interactive: true, unwrap: () => { order.push('prompting'); return Promise.resolve(null); } };
    const quiet: Identity = { kind: 'x25519', interactive: false, unwrap: (s: readonly Stanza[]) => { order.push('x25519'); return id.unwrap(s); } };
    const key = await unwrapKey(stanzas, [interactive, quiet], nonInteractiveUI);
    expect(Buffer.from(key).equals(Buffer.alloc(32, 5))).toBe(true);
    expect(order).toEqual(['x25519']);
    await expect(unwrapKey(stanzas, [X25519Identity.generate()], nonInteractiveUI)).rejects.toMatchObject({ code: 'NO_IDENTITY' });
  });

  it('a "mine but failed" identity stops the search with its own error', async () => {
    const failing: Identity = { kind: 'token', interactive: false, unwrap: () => Promise.reject(Object.assign(new Error('PIN incorrect, 2 tries left'), { code: 'PIN_INCORRECT' })) };
    await expect(unwrapKey([{ type: 'T', args: [], body: new Uint8Array(1) }], [failing], nonInteractiveUI)).rejects.toThrow('PIN incorrect, 2 tries left');
  });
});
