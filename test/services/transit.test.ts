import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SecureStorage } from '../../main/services/secure-storage';
import { normaliseAddress, TransitService, type TransitConnection, type TransitPort } from '../../main/services/transit';
import { fakeSafeStorage } from '../e2e/harness';

function recordingPort(): { port: TransitPort; seen: TransitConnection[] } {
  const seen: TransitConnection[] = [];
  return {
    seen,
    port: {
      recipient: async (c) => (seen.push(c), `vault-transit:${c.mount}/${c.keyName}@${c.address}`),
      identity: async () => {
        throw new Error('not used');
      },
      test: async (c) => (seen.push(c), { ok: true, message: 'fine', keyVersions: 1 }),
    },
  };
}

describe('TransitService', () => {
  it('requires https except on loopback and keeps only the origin', () => {
    expect(normaliseAddress('https://vault.example.com:8200/')).toBe('https://vault.example.com:8200');
    expect(normaliseAddress('http://127.0.0.1:8200')).toBe('http://127.0.0.1:8200');
    expect(() => normaliseAddress('http://vault.example.com')).toThrow(/only for a Vault on this computer/);
    expect(() => normaliseAddress('vault')).toThrow(/not a URL/);
  });

  it('seals the token, never returns it, and adds the saved address to the allowlist', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'coffer-transit-'));
    const { port, seen } = recordingPort();
    const t = await TransitService.load(dir, new SecureStorage(fakeSafeStorage(), 'linux'), port);
    const saved = await t.set({ address: 'https://vault.example.com:8200', namespace: '', mount: 'transit', keyName: 'kek', caCertPath: '', clientCertPath: '', clientKeyPath: '', auth: { method: 'token', token: 'hvs.SECRET-TOKEN' } });
    expect(saved.secretStored).toBe(true);
    expect(saved.allowlist).toEqual(['https://vault.example.com:8200']);
    expect(JSON.stringify(saved)).not.toContain('hvs.SECRET-TOKEN');
    expect(readFileSync(path.join(dir, 'transit.json'), 'utf8')).not.toContain('hvs.SECRET-TOKEN');
    expect(readFileSync(path.join(dir, 'transit-secret.bin')).toString('latin1')).not.toContain('hvs.SECRET-TOKEN');
    // The stored token reaches the provider (main process only).
    expect(await t.recipient()).toBe('vault-transit:transit/kek@https://vault.example.com:8200');
    expect(seen.at(-1)?.auth).toEqual({ method: 'token', token: 'hvs.SECRET-TOKEN' });
    // Testing a form without a token uses the stored one; a typed one wins.
    await t.test({ ...saved, auth: { method: 'token' } });
    expect(seen.at(-1)?.auth).toEqual({ method: 'token', token: 'hvs.SECRET-TOKEN' });
    await t.test({ ...saved, auth: { method: 'token', token: 'hvs.OTHER' } });
    expect(seen.at(-1)?.auth).toEqual({ method: 'token', token: 'hvs.OTHER' });
  });

  it('says what is missing before contacting anything', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'coffer-transit-'));
    const t = await TransitService.load(dir, new SecureStorage(fakeSafeStorage(), 'linux'), recordingPort().port);
    await expect(t.recipient()).rejects.toMatchObject({ code: 'TRANSIT_CONFIG' });
    await t.set({ address: 'http://127.0.0.1:8200', namespace: '', mount: 'transit', keyName: 'k', caCertPath: '', clientCertPath: '', clientKeyPath: '', auth: { method: 'token' } });
    await expect(t.recipient()).rejects.toMatchObject({ code: 'TRANSIT_AUTH' });
  });
});
