import { describe, expect, it } from 'vitest';
import { mapVaultError, mapVaultMessage } from '../../../../main/core/keys/transit/errors';
import { CofferError } from '../../../../main/core/errors';

const ctx = { address: 'https://vault.example.com:8200', path: 'transit/decrypt/team-kek', authSource: 'VAULT_TOKEN', authMethod: 'token', keyVersion: 3 };

describe('Vault answers mapped to actions', () => {
  it('accepts the permission-denied spellings of different Vault versions', () => {
    for (const m of ['permission denied', '1 error occurred:\n\t* permission denied\n\n']) {
      const e = mapVaultMessage(403, m, ctx);
      expect(e.code).toBe('TRANSIT_DENIED');
      expect(e.message).toBe('Vault at https://vault.example.com:8200: permission denied on transit/decrypt/team-kek; the token\'s policies must grant "update" on transit/decrypt/team-kek (see docs/VAULT-TRANSIT.md for the policy).');
    }
    expect(mapVaultMessage(403, '2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n', ctx).code).toBe('TRANSIT_AUTH');
    expect(mapVaultMessage(403, 'permission denied', { ...ctx, authSource: 'none' }).message).toMatch(/no Vault token/);
  });

  it('sealed, key not found, too old, login failures, tamper, anything else', () => {
    expect(mapVaultMessage(503, 'Vault is sealed', ctx).code).toBe('TRANSIT_SEALED');
    const nf = mapVaultMessage(400, 'encryption key not found', ctx);
    expect(nf.code).toBe('TRANSIT_KEY_NOT_FOUND');
    expect(nf.message).toMatch(/vault write -f transit\/keys\/team-kek/);
    const old = mapVaultMessage(400, 'ciphertext or signature version is disallowed by policy (too old)', ctx);
    expect(old.code).toBe('TRANSIT_VERSION_TOO_OLD');
    expect(old.message).toMatch(/version 3 of Transit key "team-kek".*min_decryption_version=3.*coffer vault rewrap/);
    expect(mapVaultMessage(400, 'invalid role or secret ID', { ...ctx, path: 'auth/approle/login' }).code).toBe('TRANSIT_AUTH');
    expect(mapVaultMessage(400, 'cipher: message authentication failed', ctx).message).toMatch(/slot is damaged or belongs to a different Transit key/);
    const other = mapVaultMessage(500, 'internal error', ctx);
    expect(other.code).toBe('TRANSIT');
    expect(other.message).toBe('Vault at https://vault.example.com:8200: transit/decrypt/team-kek failed (HTTP 500): internal error');
  });

  it('maps node-vault ApiResponseError by err.response.statusCode and passes CofferErrors through', () => {
    const apiErr = Object.assign(new Error('Status 503'), { response: { statusCode: 503, body: { errors: ['Vault is sealed'] } } });
    expect(mapVaultError(apiErr, ctx).code).toBe('TRANSIT_SEALED');
    const mine = new CofferError('TRANSIT_TLS', 'x');
    expect(mapVaultError(mine, ctx)).toBe(mine);
    expect(mapVaultError(new Error('boom'), ctx).message).toBe('Vault at https://vault.example.com:8200: transit/decrypt/team-kek failed: boom');
  });
});
