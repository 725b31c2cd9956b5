import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initSodium } from '../../../main/core/crypto/sodium';
import { CofferError } from '../../../main/core/errors';
import { formatIdentityFile, readIdentityFile } from '../../../main/core/keys/identity-file';
import { parseRecipient, parseRecipientsText } from '../../../main/core/keys/recipients';
import { X25519Identity, X25519Recipient } from '../../../main/core/keys/x25519';
import { nonInteractiveUI } from '../../../main/core/keys/types';
import { tempDir } from '../../helpers/cli';

const tmp = tempDir();
beforeAll(async () => { await initSodium(); });
afterAll(() => tmp.cleanup());

describe('x25519 keys', () => {
  it('prints recipients as bech32 coffer1… with a checksum and a short fingerprint', () => {
    const id = X25519Identity.generate();
    const r = id.recipient();
    const s = r.toString();
    expect(s).toMatch(/^coffer1[02-9ac-hj-np-z]{58}$/);
    expect(r.fingerprint).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){3}$/);
    expect(X25519Recipient.parse(s).fingerprint).toBe(r.fingerprint);
    expect(X25519Recipient.parse(s.toUpperCase()).toString()).toBe(s);
    const typo = s.slice(0, 20) + (s[20] === 'q' ? 'p' : 'q') + s.slice(21);
    expect(() => parseRecipient(typo)).toThrow(/checksum/);
    expect(() => parseRecipient('age1xyz')).toThrow(CofferError);
  });

  it('wraps and unwraps; another identity says "not mine"', async () => {
    const a = X25519Identity.generate();
    const b = X25519Identity.generate();
    const key = Buffer.alloc(32, 9);
    const stanzas = a.recipient().wrap(key);
    expect(Buffer.from((await a.unwrap(stanzas)) ?? []).equals(key)).toBe(true);
    expect(await b.unwrap(stanzas)).toBeNull();
    await expect(a.unwrap([{ type: 'X25519', args: ['x'], body: new Uint8Array(80) }])).rejects.toThrow(/malformed/);
    expect(X25519Identity.parse(a.toString()).recipient().toString()).toBe(a.recipient().toString());
    void nonInteractiveUI;
  });

  it('reads identity files with comments and refuses group/world-readable ones', async () => {
    const id = X25519Identity.generate();
    const p = path.join(tmp.dir, 'id.txt');
    writeFileSync(p, `${formatIdentityFile(id)}\n# another comment\n`, { mode: 0o600 });
    chmodSync(p, 0o600);
    const ids = await readIdentityFile(p);
    expect(ids).toHaveLength(1);
    chmodSync(p, 0o644);
    await expect(readIdentityFile(p)).rejects.toMatchObject({ code: 'INSECURE_PERMISSIONS' });
    const q = path.join(tmp.dir, 'bad.txt');
    writeFileSync(q, 'hello\n', { mode: 0o600 });
    await expect(readIdentityFile(q)).rejects.toMatchObject({ code: 'BAD_IDENTITY_FILE' });
  });

  it('reads recipients files with comments and names the bad line', () => {
    const r = X25519Identity.generate().recipient().toString();
    expect(parseRecipientsText(`# team\n${r}\n\n`, 'f')).toHaveLength(1);
    expect(() => parseRecipientsText(`${r}\nnope\n`, 'f')).toThrow(/f line 2/);
  });
});
