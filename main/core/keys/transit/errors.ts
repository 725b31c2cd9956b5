/**
 * Vault's answers mapped to CofferError codes with a message a person can act on. Vault's own
 * strings are matched loosely (substring), because Vault versions format them differently
 * ("permission denied" alone or inside "1 error occurred:\n\t* permission denied").
 */
import { CofferError } from '../../errors';

/** The shape node-vault gives its ApiResponseError. */
export interface VaultApiError {
  readonly message: string;
  readonly response: { readonly statusCode: number; readonly body: unknown };
}

export function isVaultApiError(e: unknown): e is VaultApiError {
  const r = (e as { response?: { statusCode?: unknown } } | null)?.response;
  return !!r && typeof r.statusCode === 'number';
}

export function vaultErrors(body: unknown): string[] {
  const errs = (body as { errors?: unknown } | null)?.errors;
  return Array.isArray(errs) ? errs.map(String) : [];
}

export const TOO_OLD = 'disallowed by policy (too old)';

export interface ErrorContext {
  /** Vault origin, e.g. https://vault.example.com:8200 */
  readonly address: string;
  /** API path without /v1/, e.g. transit/decrypt/team-kek */
  readonly path: string;
  /** Where the token came from, for auth messages. */
  readonly authSource?: string;
  readonly authMethod?: string;
  /** For version messages: the key version a stanza names. */
  readonly keyVersion?: number;
}

/** Maps one Vault error string (from `errors` or a batch item) and status to a CofferError. */
export function mapVaultMessage(status: number, message: string, ctx: ErrorContext): CofferError {
  const at = `Vault at ${ctx.address}`;
  const m = message.replace(/\s+/g, ' ').trim();
  const keyName = ctx.path.split('/').pop() ?? '';
  if (status === 503 || /vault is sealed/i.test(m)) {
    return new CofferError('TRANSIT_SEALED', `${at} is sealed: an operator must unseal it (vault operator unseal) before anything protected by it can be opened.`);
  }
  if (status === 403 || /permission denied/i.test(m)) {
    if (/invalid token/i.test(m)) {
      const src = ctx.authSource && ctx.authSource !== 'none' ? ` (from ${ctx.authSource})` : '';
      return new CofferError('TRANSIT_AUTH', `${at}: the token${src} is invalid or expired; log in again (vault login, or a new VAULT_TOKEN) or configure AppRole/certificate login so Coffer can renew it.`);
    }
    if (ctx.authSource === 'none') {
      return new CofferError('TRANSIT_AUTH', `${at}: no Vault token: set VAULT_TOKEN, run vault login (~/.vault-token), or configure AppRole or certificate login.`);
    }
    return new CofferError('TRANSIT_DENIED', `${at}: permission denied on ${ctx.path}; the token's policies must grant "update" on ${ctx.path} (see docs/VAULT-TRANSIT.md for the policy).`);
  }
  if (/encryption key not found|no existing key named|^key not found/i.test(m)) {
    const mount = ctx.path.split('/').slice(0, -2).join('/') || 'transit';
    return new CofferError('TRANSIT_KEY_NOT_FOUND', `${at}: Transit key "${keyName}" not found (${ctx.path}); check the key name and the mount, or create it: vault write -f ${mount}/keys/${keyName}`);
  }
  if (m.includes(TOO_OLD)) {
    const v = ctx.keyVersion ? `version ${ctx.keyVersion} of ` : 'an older version of ';
    return new CofferError('TRANSIT_VERSION_TOO_OLD', `${at}: this key slot was wrapped with ${v}Transit key "${keyName}", which the key's min_decryption_version no longer allows. A Vault admin can lower min_decryption_version (vault write transit/keys/${keyName}/config min_decryption_version=${ctx.keyVersion ?? 'N'}) so that Coffer can rewrap it (coffer vault rewrap DIR); raise it again afterwards.`);
  }
  if (/invalid role or secret id|invalid secret id|invalid role id|failed to validate credentials/i.test(m)) {
    return new CofferError('TRANSIT_AUTH', `${at}: AppRole login refused (${m}); check role_id and secret_id (a secret_id may have expired or been used up).`);
  }
  if (/client certificate must be supplied|invalid certificate or no client certificate/i.test(m)) {
    return new CofferError('TRANSIT_AUTH', `${at}: certificate login refused (${m}); Vault's cert auth must trust the issuer of VAULT_CLIENT_CERT.`);
  }
  if (/message authentication failed|invalid ciphertext/i.test(m)) {
    return new CofferError('TRANSIT', `${at}: Vault could not decrypt this key slot (${m}) with key "${keyName}"; the slot is damaged or belongs to a different Transit key.`);
  }
  return new CofferError('TRANSIT', `${at}: ${ctx.path} failed (HTTP ${status}): ${m || 'no error text'}`);
}

/** Maps anything node-vault or the transport threw. */
export function mapVaultError(e: unknown, ctx: ErrorContext): CofferError {
  if (e instanceof CofferError) return e;
  if (isVaultApiError(e)) {
    const errs = vaultErrors(e.response.body);
    return mapVaultMessage(e.response.statusCode, errs.join('; ') || e.message, ctx);
  }
  return new CofferError('TRANSIT', `Vault at ${ctx.address}: ${ctx.path} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}
