/**
 * Where and how to reach HashiCorp Vault: settings merged with Vault's own environment variables
 * (VAULT_ADDR, VAULT_TOKEN, ~/.vault-token, VAULT_NAMESPACE, VAULT_CACERT, VAULT_CAPATH,
 * VAULT_CLIENT_CERT, VAULT_CLIENT_KEY, VAULT_TLS_SERVER_NAME, VAULT_SKIP_VERIFY). Explicit settings
 * win over the environment. The address is never taken from a vault or file: a vault that names
 * an address only gets it checked against the allowlist.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CofferError } from '../../errors';

export type TransitAuthSettings =
  | { readonly method: 'token'; readonly token?: string; readonly tokenFile?: string }
  | { readonly method: 'approle'; readonly roleId?: string; readonly roleIdFile?: string; readonly secretId?: string; readonly secretIdFile?: string; readonly mount?: string }
  | { readonly method: 'cert'; readonly name?: string; readonly mount?: string };

/** What a person or admin configures (app settings or `--vault-config FILE`, JSON). */
export interface TransitSettings {
  readonly address?: string;
  /** Further Vault addresses this machine may contact (e.g. HA nodes a standby redirects to). */
  readonly allowedAddresses?: readonly string[];
  readonly namespace?: string;
  readonly caCertFile?: string;
  readonly caCertPem?: string;
  readonly clientCertFile?: string;
  readonly clientKeyFile?: string;
  readonly tlsServerName?: string;
  /** base64 SHA-256 of the server's SubjectPublicKeyInfo; any one matching is enough (keep a backup pin). */
  readonly spkiPins?: readonly string[];
  readonly auth?: TransitAuthSettings;
  readonly timeoutMs?: number;
}

export interface ResolvedAuth {
  readonly method: 'token' | 'approle' | 'cert';
  /** Where the credential came from, for messages ("VAULT_TOKEN", "~/.vault-token", "settings"). */
  readonly source: string;
  readonly token?: string;
  readonly roleId?: string;
  readonly secretId?: string;
  readonly mount: string;
  readonly certName?: string;
}

export interface ResolvedTransitConfig {
  /** Normalised origin, e.g. https://vault.example.com:8200 (no trailing slash, no path). */
  readonly address: string;
  readonly allowed: readonly string[];
  readonly loopback: boolean;
  readonly namespace?: string;
  readonly ca?: string;
  readonly caSource?: string;
  readonly clientCert?: string;
  readonly clientKey?: string;
  readonly servername?: string;
  readonly pins: readonly string[];
  readonly auth: ResolvedAuth;
  readonly timeoutMs: number;
}

/** 127.0.0.0/8, ::1 and localhost: the only hosts plain HTTP is allowed to, and never proxied. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(h) || h === '::1' || h === '0:0:0:0:0:0:0:1';
}

/** Parses and normalises a Vault address to its origin; refuses paths, credentials and odd schemes. */
export function normaliseAddress(raw: string, where: string): string {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new CofferError('TRANSIT_CONFIG', `${where}: "${raw}" is not a URL; expected e.g. https://vault.example.com:8200`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new CofferError('TRANSIT_CONFIG', `${where}: Vault address must start with https:// (got ${u.protocol})`);
  if (u.username || u.password) throw new CofferError('TRANSIT_CONFIG', `${where}: the Vault address must not contain credentials`);
  if ((u.pathname && u.pathname !== '/') || u.search || u.hash) throw new CofferError('TRANSIT_CONFIG', `${where}: the Vault address must be just scheme, host and port (got ${raw})`);
  return u.origin;
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CofferError('TRANSIT_CONFIG', `cannot read ${what} ${file}${code === 'ENOENT' ? ': no such file' : code ? ` (${code})` : ''}`);
  }
}

/** VAULT_SKIP_VERIFY: Coffer never turns verification off, and says so instead of silently obeying (or not). */
function checkSkipVerify(env: NodeJS.ProcessEnv): void {
  const v = env.VAULT_SKIP_VERIFY;
  if (v === undefined || v.trim() === '') return;
  if (/^(0|f|false|no|off)$/i.test(v.trim())) return;
  throw new CofferError('TRANSIT_TLS',
    `VAULT_SKIP_VERIFY=${v} is set, but Coffer never disables TLS certificate verification. Unset it and give Vault's CA instead (VAULT_CACERT=/path/ca.pem or the CA file in the Vault settings).`);
}

function resolveAuth(s: TransitAuthSettings | undefined, env: NodeJS.ProcessEnv, home: string): ResolvedAuth {
  const method = s?.method ?? 'token';
  if (method === 'approle') {
    const a = s as Extract<TransitAuthSettings, { method: 'approle' }>;
    const roleId = a.roleId ?? (a.roleIdFile ? readText(a.roleIdFile, 'AppRole role_id file').trim() : undefined);
    const secretId = a.secretId ?? (a.secretIdFile ? readText(a.secretIdFile, 'AppRole secret_id file').trim() : undefined);
    if (!roleId) throw new CofferError('TRANSIT_CONFIG', 'AppRole login needs a role_id (settings roleId or roleIdFile)');
    return { method, source: 'AppRole', roleId, secretId, mount: a.mount ?? 'approle' };
  }
  if (method === 'cert') {
    const c = s as Extract<TransitAuthSettings, { method: 'cert' }>;
    return { method, source: 'TLS certificate', mount: c.mount ?? 'cert', certName: c.name };
  }
  const t = s as Extract<TransitAuthSettings, { method: 'token' }> | undefined;
  if (t?.token) return { method: 'token', source: 'settings', token: t.token.trim(), mount: 'token' };
  if (t?.tokenFile) return { method: 'token', source: t.tokenFile, token: readText(t.tokenFile, 'token file').trim(), mount: 'token' };
  if (env.VAULT_TOKEN?.trim()) return { method: 'token', source: 'VAULT_TOKEN', token: env.VAULT_TOKEN.trim(), mount: 'token' };
  const helper = path.join(home, '.vault-token');
  try {
    const tok = readFileSync(helper, 'utf8').trim();
    if (tok) return { method: 'token', source: '~/.vault-token', token: tok, mount: 'token' };
  } catch {
    /* no token helper file */
  }
  return { method: 'token', source: 'none', mount: 'token' };
}

function readCaPath(dir: string): string {
  let out = '';
  try {
    for (const f of readdirSync(dir)) {
      const p = path.join(dir, f);
      if (statSync(p).isFile() && /\.(pem|crt)$/i.test(f)) out += readText(p, 'CA certificate') + '\n';
    }
  } catch (e) {
    if (e instanceof CofferError) throw e;
    throw new CofferError('TRANSIT_CONFIG', `cannot read VAULT_CAPATH ${dir}`);
  }
  if (!out) throw new CofferError('TRANSIT_CONFIG', `VAULT_CAPATH ${dir} holds no .pem or .crt files`);
  return out;
}

export function resolveTransitConfig(settings: TransitSettings = {}, env: NodeJS.ProcessEnv = process.env, home: string = os.homedir()): ResolvedTransitConfig {
  checkSkipVerify(env);
  const rawAddr = settings.address ?? env.VAULT_ADDR;
  if (!rawAddr) throw new CofferError('TRANSIT_CONFIG', 'no Vault address: set VAULT_ADDR or the address in the Vault settings');
  const address = normaliseAddress(rawAddr, settings.address ? 'Vault settings' : 'VAULT_ADDR');
  const u = new URL(address);
  const loopback = isLoopbackHost(u.hostname);
  if (u.protocol === 'http:' && !loopback) {
    throw new CofferError('TRANSIT_TLS', `refusing plain HTTP to Vault at ${address}: use https:// (plain HTTP is allowed only to this machine, 127.0.0.1/localhost)`);
  }
  let ca: string | undefined;
  let caSource: string | undefined;
  if (settings.caCertPem) [ca, caSource] = [settings.caCertPem, 'settings'];
  else if (settings.caCertFile) [ca, caSource] = [readText(settings.caCertFile, 'CA certificate'), settings.caCertFile];
  else if (env.VAULT_CACERT) [ca, caSource] = [readText(env.VAULT_CACERT, 'VAULT_CACERT'), env.VAULT_CACERT];
  else if (env.VAULT_CAPATH) [ca, caSource] = [readCaPath(env.VAULT_CAPATH), env.VAULT_CAPATH];
  const certFile = settings.clientCertFile ?? env.VAULT_CLIENT_CERT;
  const keyFile = settings.clientKeyFile ?? env.VAULT_CLIENT_KEY;
  if (!!certFile !== !!keyFile) throw new CofferError('TRANSIT_CONFIG', 'a client certificate needs both the certificate and its key (VAULT_CLIENT_CERT and VAULT_CLIENT_KEY)');
  const pins = (settings.spkiPins ?? []).map((p) => p.replace(/^sha256\//, '').trim());
  for (const p of pins) {
    if (Buffer.from(p, 'base64').length !== 32 || !/^[A-Za-z0-9+/]{43}=$/.test(p)) {
      throw new CofferError('TRANSIT_CONFIG', `SPKI pin "${p}" is not a base64 SHA-256 (44 characters ending in "=")`);
    }
  }
  const allowed = [address, ...(settings.allowedAddresses ?? []).map((a) => normaliseAddress(a, 'allowed Vault addresses'))];
  const auth = resolveAuth(settings.auth, env, home);
  if (auth.method === 'cert' && !certFile) throw new CofferError('TRANSIT_CONFIG', 'TLS certificate login needs a client certificate (VAULT_CLIENT_CERT and VAULT_CLIENT_KEY, or the settings)');
  return {
    address, allowed: [...new Set(allowed)], loopback,
    namespace: settings.namespace ?? (env.VAULT_NAMESPACE?.trim() || undefined),
    ca, caSource,
    clientCert: certFile ? readText(certFile, 'client certificate') : undefined,
    clientKey: keyFile ? readText(keyFile, 'client key') : undefined,
    servername: settings.tlsServerName ?? (env.VAULT_TLS_SERVER_NAME || undefined),
    pins, auth, timeoutMs: settings.timeoutMs ?? 30_000,
  };
}

/**
 * A vault may record which Vault holds its Transit key. That address is only ever compared with
 * the allowlist; it is never contacted because a file says so.
 */
export function checkNamedAddress(named: string, config: Pick<ResolvedTransitConfig, 'allowed' | 'address'>): void {
  let origin: string;
  try {
    origin = normaliseAddress(named, 'vault');
  } catch {
    throw new CofferError('TRANSIT_ADDRESS_NOT_ALLOWED', `this vault names the Vault address "${named}", which is not a valid address; Coffer will not contact it`);
  }
  if (!config.allowed.includes(origin)) {
    throw new CofferError('TRANSIT_ADDRESS_NOT_ALLOWED',
      `this vault's key is held by Vault at ${origin}, which is not in your allowed Vault addresses (you use ${config.address}). If you trust it, add it to the allowed addresses in the Vault settings; Coffer never contacts an address just because a file names it.`);
  }
}
