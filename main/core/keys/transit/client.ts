/**
 * A small Transit client over node-vault 0.12, using only its generic read/write (and GET
 * `?list=true`): node-vault's transit helpers copy `requestOptions` (token, TLS key) into the JSON
 * body and `transitListKeys` sends the LIST verb. Login (token, AppRole, TLS certificate) happens
 * lazily; when Vault refuses a token that Coffer obtained itself (AppRole/cert), it logs in again
 * once and retries, then fails with a clear message.
 */
import type NodeVault from 'node-vault';
import { createRequire } from 'node:module';
import os from 'node:os';
import { CofferError } from '../../errors';
import { resolveTransitConfig, type ResolvedTransitConfig, type TransitSettings } from './config';
import { createTransport, type RequestEvent, type TlsDetails, type Transport } from './transport';
import { isVaultApiError, mapVaultError, mapVaultMessage, vaultErrors } from './errors';

// node-vault (and what it pulls in) is loaded on first use, not at start-up: every `coffer vault`
// command imports this module, and most never talk to Vault (it cost about 0.15 s of CPU per command).
const localRequire = createRequire(__filename);
let nodeVault: typeof NodeVault | undefined;
const loadNodeVault = (): typeof NodeVault => (nodeVault ??= localRequire('node-vault') as typeof NodeVault);

export interface TransitKeyRef {
  /** Mount path of the transit engine, without slashes at either end, e.g. "transit" or "team/transit". */
  readonly mount: string;
  /** Transit key name. */
  readonly key: string;
}

export interface TransitKeyInfo {
  readonly name: string;
  readonly type: string;
  readonly latestVersion: number;
  readonly minDecryptionVersion: number;
  readonly minEncryptionVersion: number;
  readonly deletionAllowed: boolean;
}

/** One result of a batch operation: either a value or the CofferError for that item. */
export type BatchResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: CofferError };

export interface Ciphertext {
  readonly ciphertext: string;
  readonly version: number;
}

/** Items per batch_input request. Vault accepts far more; this bounds request size (~100 KiB). */
export const BATCH_MAX = 500;

const MOUNT_RE = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
/** framework.GenericNameRegex("name") */
const KEY_RE = /^\w(?:[\w.-]*\w)?$/;

export function checkKeyRef(ref: TransitKeyRef): void {
  if (!MOUNT_RE.test(ref.mount) || ref.mount.split('/').some((s) => s === '.' || s === '..')) {
    throw new CofferError('TRANSIT_CONFIG', `"${ref.mount}" is not a valid Transit mount path (letters, digits, . _ - and / between parts)`);
  }
  if (!KEY_RE.test(ref.key)) throw new CofferError('TRANSIT_CONFIG', `"${ref.key}" is not a valid Transit key name (letters, digits, . _ -)`);
}

export const keyPath = (ref: TransitKeyRef, op: string): string => `${ref.mount}/${op}/${ref.key}`;

export interface TransitClientOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Called for every HTTP request actually sent (including redirects and logins); for request counts. */
  readonly onRequest?: (e: RequestEvent) => void;
}

interface AuthBlock {
  readonly client_token: string;
  readonly lease_duration?: number;
  readonly policies?: string[];
}

export class TransitClient {
  readonly config: ResolvedTransitConfig;
  private readonly vault: NodeVault.client;
  private readonly transport: Transport;
  private token: string | undefined;
  private tokenObtained = false;
  /** Number of HTTP requests sent so far. */
  requestCount = 0;

  constructor(config: ResolvedTransitConfig, opts: TransitClientOptions = {}) {
    this.config = config;
    this.transport = createTransport(config, {
      env: opts.env,
      onRequest: (e) => {
        this.requestCount++;
        opts.onRequest?.(e);
      },
    });
    this.token = config.auth.method === 'token' ? config.auth.token : undefined;
    this.vault = loadNodeVault()({
      endpoint: config.address,
      apiVersion: 'v1',
      // Never let node-vault read VAULT_TOKEN / VAULT_ADDR / VAULT_PREFIX itself: config decides.
      token: this.token ?? '',
      pathPrefix: '',
      namespace: config.namespace ?? '',
      noCustomHTTPVerbs: true,
      'request-promise': this.transport,
      requestOptions: {},
    });
    // node-vault falls back to process.env (VAULT_TOKEN, VAULT_PREFIX, VAULT_NAMESPACE) for empty
    // values; the resolved config is the only source, so set them again explicitly.
    this.vault.token = this.token ?? '';
    const raw = this.vault as unknown as { pathPrefix: string; namespace: string };
    raw.pathPrefix = '';
    raw.namespace = config.namespace ?? '';
  }

  static fromSettings(settings: TransitSettings, env: NodeJS.ProcessEnv = process.env, home: string = os.homedir(), opts: TransitClientOptions = {}): TransitClient {
    return new TransitClient(resolveTransitConfig(settings, env, home), { env, ...opts });
  }

  get address(): string {
    return this.config.address;
  }

  lastTls(): TlsDetails | undefined {
    return this.transport.lastTls();
  }

  close(): void {
    this.transport.close();
  }

  private ctx(path: string, keyVersion?: number): { address: string; path: string; authSource: string; authMethod: string; keyVersion?: number } {
    const source = this.config.auth.method === 'token' ? (this.token ? this.config.auth.source : 'none') : this.config.auth.source;
    return { address: this.config.address, path, authSource: source, authMethod: this.config.auth.method, keyVersion };
  }

  /** AppRole or certificate login; sets the client token. */
  async login(): Promise<void> {
    const a = this.config.auth;
    if (a.method === 'token') return;
    const path = `auth/${a.mount}/login`;
    const body = a.method === 'approle' ? { role_id: a.roleId, ...(a.secretId ? { secret_id: a.secretId } : {}) } : a.certName ? { name: a.certName } : {};
    this.vault.token = '';
    let res: { auth?: AuthBlock } | undefined;
    try {
      res = (await this.vault.write(path, body)) as { auth?: AuthBlock };
    } catch (e) {
      throw mapVaultError(e, { ...this.ctx(path), authSource: a.source });
    }
    const tok = res?.auth?.client_token;
    if (!tok) throw new CofferError('TRANSIT_AUTH', `Vault at ${this.config.address}: ${path} returned no token`);
    this.token = tok;
    this.tokenObtained = true;
    this.vault.token = tok;
  }

  /** Logs in if needed; true when it just did (a refusal right after a login is not an expired token). */
  private async ensureAuth(): Promise<boolean> {
    if (this.config.auth.method === 'token' || this.token) return false;
    await this.login();
    return true;
  }

  /** Runs one Vault call with lazy login and one re-login on a refused self-obtained token. */
  private async run<T>(path: string, fn: () => Promise<T>, keyVersion?: number): Promise<T> {
    const justLoggedIn = await this.ensureAuth();
    try {
      return await fn();
    } catch (e) {
      if (isVaultApiError(e) && e.response.statusCode === 403 && !justLoggedIn && this.tokenObtained && this.config.auth.method !== 'token') {
        await this.login();
        try {
          return await fn();
        } catch (e2) {
          throw mapVaultError(e2, this.ctx(path, keyVersion));
        }
      }
      throw mapVaultError(e, this.ctx(path, keyVersion));
    }
  }

  /** Generic read (GET). */
  read(path: string): Promise<unknown> {
    return this.run(path, () => this.vault.read(path) as Promise<unknown>);
  }
  /** Generic write (POST). */
  write(path: string, data: Record<string, unknown>, keyVersion?: number): Promise<unknown> {
    return this.run(path, () => this.vault.write(path, data) as Promise<unknown>, keyVersion);
  }
  /** Generic list, as GET ?list=true (never the LIST verb). */
  list(path: string): Promise<unknown> {
    return this.run(path, () => this.vault.list(path) as Promise<unknown>);
  }

  /**
   * A batch write: 200 → all results; 400 (or partial_failure_response_code) with
   * data.batch_results and no `errors` → per-item results; anything else → thrown.
   */
  private async batchWrite(path: string, items: Record<string, unknown>[], itemVersion: (i: number) => number | undefined): Promise<BatchResult<Record<string, unknown>>[]> {
    let results: unknown;
    try {
      const res = (await this.run(path, async () => {
        try {
          return (await this.vault.write(path, { batch_input: items })) as unknown;
        } catch (e) {
          if (isVaultApiError(e) && e.response.statusCode !== 403 && vaultErrors(e.response.body).length === 0) {
            const br = (e.response.body as { data?: { batch_results?: unknown } } | null)?.data?.batch_results;
            if (Array.isArray(br)) return { data: { batch_results: br }, partialStatus: e.response.statusCode };
          }
          throw e;
        }
      })) as { data?: { batch_results?: unknown }; partialStatus?: number };
      results = res?.data?.batch_results;
    } catch (e) {
      throw e instanceof CofferError ? e : mapVaultError(e, this.ctx(path));
    }
    if (!Array.isArray(results) || results.length !== items.length) {
      throw new CofferError('TRANSIT', `Vault at ${this.config.address}: ${path} returned ${Array.isArray(results) ? results.length : 'no'} batch results for ${items.length} items`);
    }
    return results.map((r, i) => {
      const item = (r ?? {}) as Record<string, unknown>;
      if (typeof item.error === 'string' && item.error) return { ok: false as const, error: mapVaultMessage(400, item.error, this.ctx(path, itemVersion(i))) };
      return { ok: true as const, value: item };
    });
  }

  private static chunks<T>(xs: readonly T[]): T[][] {
    const out: T[][] = [];
    for (let i = 0; i < xs.length; i += BATCH_MAX) out.push(xs.slice(i, i + BATCH_MAX));
    return out;
  }

  // ---- Transit operations ---------------------------------------------------------------------

  async encrypt(ref: TransitKeyRef, plaintext: Uint8Array): Promise<Ciphertext> {
    const path = keyPath(ref, 'encrypt');
    const res = (await this.write(path, { plaintext: Buffer.from(plaintext).toString('base64') })) as { data?: { ciphertext?: unknown; key_version?: unknown } };
    return parseCiphertext(res?.data?.ciphertext, res?.data?.key_version, this.config.address, path);
  }

  async decrypt(ref: TransitKeyRef, ciphertext: string, version?: number): Promise<Buffer> {
    const path = keyPath(ref, 'decrypt');
    const res = (await this.write(path, { ciphertext }, version)) as { data?: { plaintext?: unknown } };
    return parsePlaintext(res?.data?.plaintext, this.config.address, path);
  }

  async rewrap(ref: TransitKeyRef, ciphertext: string, version?: number): Promise<Ciphertext> {
    const path = keyPath(ref, 'rewrap');
    const res = (await this.write(path, { ciphertext }, version)) as { data?: { ciphertext?: unknown; key_version?: unknown } };
    return parseCiphertext(res?.data?.ciphertext, res?.data?.key_version, this.config.address, path);
  }

  /** transit/datakey/plaintext: Vault makes a 256-bit key and returns it with its wrapped form. */
  async dataKey(ref: TransitKeyRef): Promise<{ plaintext: Buffer } & Ciphertext> {
    const path = `${ref.mount}/datakey/plaintext/${ref.key}`;
    const res = (await this.write(path, { bits: 256 })) as { data?: { plaintext?: unknown; ciphertext?: unknown; key_version?: unknown } };
    return { plaintext: parsePlaintext(res?.data?.plaintext, this.config.address, path), ...parseCiphertext(res?.data?.ciphertext, res?.data?.key_version, this.config.address, path) };
  }

  /** transit/datakey/wrapped: a new 256-bit key that only Vault ever sees in the clear. */
  async wrappedDataKey(ref: TransitKeyRef): Promise<Ciphertext> {
    const path = `${ref.mount}/datakey/wrapped/${ref.key}`;
    const res = (await this.write(path, { bits: 256 })) as { data?: { ciphertext?: unknown; key_version?: unknown } };
    return parseCiphertext(res?.data?.ciphertext, res?.data?.key_version, this.config.address, path);
  }

  async encryptBatch(ref: TransitKeyRef, plaintexts: readonly Uint8Array[]): Promise<BatchResult<Ciphertext>[]> {
    const path = keyPath(ref, 'encrypt');
    const out: BatchResult<Ciphertext>[] = [];
    for (const chunk of TransitClient.chunks(plaintexts)) {
      const res = await this.batchWrite(path, chunk.map((p) => ({ plaintext: Buffer.from(p).toString('base64') })), () => undefined);
      for (const r of res) out.push(r.ok ? this.okCt(r.value, path) : r);
    }
    return out;
  }

  async decryptBatch(ref: TransitKeyRef, items: readonly Ciphertext[]): Promise<BatchResult<Buffer>[]> {
    const path = keyPath(ref, 'decrypt');
    const out: BatchResult<Buffer>[] = [];
    for (const chunk of TransitClient.chunks(items)) {
      const res = await this.batchWrite(path, chunk.map((c) => ({ ciphertext: c.ciphertext })), (i) => chunk[i]?.version);
      for (const r of res) {
        if (!r.ok) out.push(r);
        else {
          try {
            out.push({ ok: true, value: parsePlaintext(r.value.plaintext, this.config.address, path) });
          } catch (e) {
            out.push({ ok: false, error: e as CofferError });
          }
        }
      }
    }
    return out;
  }

  async rewrapBatch(ref: TransitKeyRef, items: readonly Ciphertext[]): Promise<BatchResult<Ciphertext>[]> {
    const path = keyPath(ref, 'rewrap');
    const out: BatchResult<Ciphertext>[] = [];
    for (const chunk of TransitClient.chunks(items)) {
      const res = await this.batchWrite(path, chunk.map((c) => ({ ciphertext: c.ciphertext })), (i) => chunk[i]?.version);
      for (const r of res) out.push(r.ok ? this.okCt(r.value, path) : r);
    }
    return out;
  }

  private okCt(v: Record<string, unknown>, path: string): BatchResult<Ciphertext> {
    try {
      return { ok: true, value: parseCiphertext(v.ciphertext, v.key_version, this.config.address, path) };
    } catch (e) {
      return { ok: false, error: e as CofferError };
    }
  }

  async readKey(ref: TransitKeyRef): Promise<TransitKeyInfo> {
    const path = `${ref.mount}/keys/${ref.key}`;
    let res: { data?: Record<string, unknown> };
    try {
      res = (await this.read(path)) as { data?: Record<string, unknown> };
    } catch (e) {
      // A missing key is a 404 with an empty errors list.
      if (e instanceof CofferError && e.code === 'TRANSIT' && / \(HTTP 404\)/.test(e.message)) {
        throw new CofferError('TRANSIT_KEY_NOT_FOUND', `Vault at ${this.config.address}: Transit key "${ref.key}" not found on mount ${ref.mount}; create it: vault write -f ${ref.mount}/keys/${ref.key}`);
      }
      throw e;
    }
    const d = res?.data ?? {};
    const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
    return {
      name: String(d.name ?? ref.key), type: String(d.type ?? ''), latestVersion: num(d.latest_version),
      minDecryptionVersion: num(d.min_decryption_version), minEncryptionVersion: num(d.min_encryption_version), deletionAllowed: d.deletion_allowed === true,
    };
  }

  /**
   * transit/keys/NAME/rotate: a new key version becomes the latest. Older Vault answers 204, newer
   * ones the key as a read returns it; either way the key is read afterwards (one more request).
   */
  async rotateKey(ref: TransitKeyRef): Promise<TransitKeyInfo> {
    checkKeyRef(ref);
    await this.write(`${ref.mount}/keys/${ref.key}/rotate`, {});
    return this.readKey(ref);
  }

  /**
   * transit/keys/NAME/config with min_decryption_version: ciphertexts of older versions no longer
   * decrypt (Vault archives those versions). Used by a vault's freshness anchor (docs/SECURITY.md).
   */
  async setMinDecryptionVersion(ref: TransitKeyRef, version: number): Promise<void> {
    checkKeyRef(ref);
    if (!Number.isSafeInteger(version) || version < 1) throw new CofferError('INTERNAL', `bad min_decryption_version ${version}`);
    await this.write(`${ref.mount}/keys/${ref.key}/config`, { min_decryption_version: version });
  }

  async listKeys(mount: string): Promise<string[]> {
    try {
      const res = (await this.list(`${mount}/keys`)) as { data?: { keys?: unknown } };
      return Array.isArray(res?.data?.keys) ? res.data.keys.map(String) : [];
    } catch (e) {
      if (e instanceof CofferError && / \(HTTP 404\)/.test(e.message)) return [];
      throw e;
    }
  }

  /** sys/health (unauthenticated; node-vault hands non-200 health bodies back as results). */
  async health(): Promise<{ initialized: boolean; sealed: boolean; standby: boolean; version: string }> {
    let res: Record<string, unknown>;
    try {
      res = (await this.vault.read('sys/health?standbyok=true')) as Record<string, unknown>;
    } catch (e) {
      throw mapVaultError(e, this.ctx('sys/health'));
    }
    return { initialized: res?.initialized === true, sealed: res?.sealed === true, standby: res?.standby === true, version: String(res?.version ?? '') };
  }

  /** auth/token/lookup-self: who Coffer is logged in as. */
  async lookupSelf(): Promise<{ displayName: string; policies: string[]; ttl: number; expireTime: string | null }> {
    const res = (await this.read('auth/token/lookup-self')) as { data?: Record<string, unknown> };
    const d = res?.data ?? {};
    return {
      displayName: String(d.display_name ?? ''), policies: Array.isArray(d.policies) ? d.policies.map(String) : [],
      ttl: typeof d.ttl === 'number' ? d.ttl : 0, expireTime: typeof d.expire_time === 'string' ? d.expire_time : null,
    };
  }
}

const CT_RE = /^vault:v([1-9][0-9]*):([A-Za-z0-9+/]+={0,2})$/;

export function parseCiphertext(ct: unknown, version: unknown, address: string, path: string): Ciphertext {
  const m = typeof ct === 'string' ? CT_RE.exec(ct) : null;
  if (!m) throw new CofferError('TRANSIT', `Vault at ${address}: ${path} returned no usable ciphertext`);
  const v = Number(m[1]);
  if (typeof version === 'number' && version !== v) throw new CofferError('TRANSIT', `Vault at ${address}: ${path} returned key_version ${version} for a v${v} ciphertext`);
  return { ciphertext: ct as string, version: v };
}

function parsePlaintext(p: unknown, address: string, path: string): Buffer {
  if (typeof p !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(p)) throw new CofferError('TRANSIT', `Vault at ${address}: ${path} returned no usable plaintext`);
  return Buffer.from(p, 'base64');
}
