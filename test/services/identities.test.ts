import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initSodium } from '../../main/core/crypto/sodium';
import { IdentityService } from '../../main/services/identities';
import { SecureStorage } from '../../main/services/secure-storage';
import { fakeSafeStorage } from '../e2e/harness';

describe('IdentityService', () => {
  beforeAll(() => initSodium());

  it('keeps the private key only sealed by the OS keychain; lists public parts only', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'coffer-ids-'));
    const ids = await IdentityService.load(dir, new SecureStorage(fakeSafeStorage('gnome_libsecret'), 'linux'));
    const me = await ids.create('Laptop');
    expect(me.recipient).toMatch(/^coffer1/);
    expect(Object.keys(me).sort()).toEqual(['created', 'fingerprint', 'id', 'label', 'protection', 'recipient']);
    const ident = await ids.unseal(me.id);
    const secret = ident.toString();
    expect(ident.recipient().toString()).toBe(me.recipient);
    ident.destroy();
    const onDisk = readFileSync(path.join(dir, 'identities.json'), 'utf8');
    expect(onDisk).not.toContain(secret);
    expect(onDisk).not.toMatch(/COFFER-SECRET-KEY/i);
    // Reloaded from disk: same keys.
    const again = await IdentityService.load(dir, new SecureStorage(fakeSafeStorage(), 'linux'));
    expect(again.list().map((i) => i.recipient)).toEqual([me.recipient]);
    await ids.remove(me.id);
    expect(ids.list()).toEqual([]);
    await expect(ids.unseal(me.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
