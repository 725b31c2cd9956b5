/**
 * The HashiCorp Vault (Transit) connection: address, TLS files, auth method and Transit key,
 * kept in transit.json; the token or AppRole secret id is sealed with SecureStorage and never sent
 * back to the window. The saved address is the allowlist: Coffer contacts no other Vault server,
 * whatever a vault file names.
 */
import path from 'node:path';
import { promises as fsp } from 'node:fs';
import { CofferError } from '../core/errors';
import type { Identity } from '../core/keys/types';
import type { TransitSettings, TransitSettingsInput } from '../../preload/contract';
import { readJson, writeFileAtomic } from './fsutil';
import type { SecureStorage } from './secure-storage';

/** Everything a Transit provider needs to connect, secrets included (main process only). */
export interface TransitConnection {
  readonly address: string;
  readonly namespace: string;
  readonly mount: string;
  readonly keyName: string;
  readonly caCertPath: string;
  readonly clientCertPath: string;
  readonly clientKeyPath: string;
  readonly auth: { method: 'token'; token: string } | { method: 'approle'; roleId: string; secretId: string } | { method: 'cert'; certRole?: string };
  readonly allowlist: readonly string[];
}

/** The seam to main/core/keys/vault-transit.ts (wired in core-transit.ts). */
export interface TransitPort {
  /** The recipient string a vault slot stores (no secret). */
  recipient(c: TransitConnection): Promise<string>;
  identity(c: TransitConnection): Promise<Identity>;
  test(c: TransitConnection): Promise<{ ok: boolean; message: string; keyVersions: number | null }>;
}

type Stored = Omit<TransitSettings, 'secretStored' | 'allowlist'> & { allowlist: string[] };

const DEFAULTS: Stored = { address: '', namespace: '', mount: 'transit', keyName: '', caCertPath: '', clientCertPath: '', clientKeyPath: '', auth: { method: 'token' }, allowlist: [] };

export function normaliseAddress(address: string): string {
  const a = address.trim().replace(/\/+$/, '');
  if (!a) return a;
  let u: URL;
  try {
    u = new URL(a);
  } catch {
    throw new CofferError('TRANSIT_CONFIG', `"${address}" is not a URL; use e.g. https://vault.example.com:8200`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new CofferError('TRANSIT_CONFIG', 'the Vault address must start with https://');
  const loopback = u.hostname === '127.0.0.1' || u.hostname === 'localhost' || u.hostname === '[::1]';
  if (u.protocol === 'http:' && !loopback) throw new CofferError('TRANSIT_CONFIG', 'plain http is allowed only for a Vault on this computer (127.0.0.1); use https://');
  return `${u.protocol}//${u.host}`;
}

export class TransitService {
  private value: Stored = { ...DEFAULTS };
  private constructor(
    private readonly file: string,
    private readonly secretFile: string,
    private readonly storage: SecureStorage,
    private readonly port: TransitPort,
  ) {}

  static async load(dataDir: string, storage: SecureStorage, port: TransitPort): Promise<TransitService> {
    const s = new TransitService(path.join(dataDir, 'transit.json'), path.join(dataDir, 'transit-secret.bin'), storage, port);
    s.value = { ...DEFAULTS, ...(await readJson<Partial<Stored>>(s.file, {})) };
    return s;
  }

  async get(): Promise<TransitSettings> {
    const secretStored = await fsp.stat(this.secretFile).then(() => true, () => false);
    return { ...this.value, secretStored };
  }

  async set(input: TransitSettingsInput): Promise<TransitSettings> {
    const address = normaliseAddress(input.address);
    const secret = input.auth.method === 'token' ? input.auth.token : input.auth.method === 'approle' ? input.auth.secretId : undefined;
    const auth: Stored['auth'] = input.auth.method === 'approle' ? { method: 'approle', roleId: input.auth.roleId } : input.auth.method === 'cert' ? { method: 'cert', ...(input.auth.certRole ? { certRole: input.auth.certRole } : {}) } : { method: 'token' };
    const allowlist = address && !this.value.allowlist.includes(address) ? [...this.value.allowlist, address] : this.value.allowlist;
    // The stored secret belongs to the server it was entered for: a new address (or CA) without a
    // new secret drops it, so it can never follow the settings to another server.
    const moved = address !== this.value.address || input.caCertPath !== this.value.caCertPath || input.auth.method !== this.value.auth.method;
    this.value = { ...input, address, auth, allowlist };
    await writeFileAtomic(this.file, JSON.stringify(this.value, null, 2));
    if (secret) await writeFileAtomic(this.secretFile, await this.storage.seal(secret));
    else if (moved || input.auth.method === 'cert') await fsp.rm(this.secretFile, { force: true });
    await this.activate().catch(() => undefined);
    return this.get();
  }

  /** Tests the settings in the form (not yet saved): reach Vault, authenticate, read the key. */
  async test(input: TransitSettingsInput): Promise<{ ok: boolean; address: string; message: string; keyVersions: number | null }> {
    const address = normaliseAddress(input.address);
    const typed = input.auth.method === 'token' ? input.auth.token : input.auth.method === 'approle' ? input.auth.secretId : 'cert';
    if (!typed && !this.storedSecretMayGoTo(input, address)) {
      // The stored token / secret id goes only to the saved, allowlisted server (with the saved CA).
      throw new CofferError('TRANSIT_AUTH', `the stored Vault secret is only sent to the saved address (${this.value.address || 'none saved'}); type the token or secret id to test ${address}`);
    }
    const conn = await this.connection(input, [address]);
    try {
      const r = await this.port.test(conn);
      return { ...r, address };
    } catch (e) {
      const err = e instanceof CofferError ? e : new CofferError('TRANSIT', e instanceof Error ? e.message : String(e));
      return { ok: false, address, message: err.message, keyVersions: null };
    }
  }

  private storedSecretMayGoTo(input: TransitSettingsInput, address: string): boolean {
    const v = this.value;
    return address !== '' && address === v.address && v.allowlist.includes(address) && input.caCertPath === v.caCertPath && input.auth.method === v.auth.method;
  }

  /** Makes the saved connection available to vault-transit slots (rotate, grant) without unlocking through it. */
  async activate(): Promise<void> {
    if (this.value.address && this.value.keyName) await this.port.recipient(await this.saved());
  }

  async recipient(): Promise<string> {
    return this.port.recipient(await this.saved());
  }

  async identity(): Promise<Identity> {
    return this.port.identity(await this.saved());
  }

  private async saved(): Promise<TransitConnection> {
    if (!this.value.address || !this.value.keyName) throw new CofferError('TRANSIT_CONFIG', 'set up the Vault connection (address and Transit key) first');
    return this.connection({ ...this.value, auth: this.value.auth }, this.value.allowlist);
  }

  private async connection(input: TransitSettingsInput | Stored, allowlist: readonly string[]): Promise<TransitConnection> {
    const stored = async (): Promise<string> => {
      try {
        return await this.storage.open(await fsp.readFile(this.secretFile));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CofferError('TRANSIT_AUTH', 'no Vault token or secret id is stored; enter one in Vault connection');
        throw e;
      }
    };
    const a = input.auth;
    let auth: TransitConnection['auth'];
    if (a.method === 'token') auth = { method: 'token', token: ('token' in a && a.token) || (await stored()) };
    else if (a.method === 'approle') auth = { method: 'approle', roleId: a.roleId, secretId: ('secretId' in a && a.secretId) || (await stored()) };
    else auth = { method: 'cert', ...(a.certRole ? { certRole: a.certRole } : {}) };
    return {
      address: normaliseAddress(input.address),
      namespace: input.namespace,
      mount: input.mount || 'transit',
      keyName: input.keyName,
      caCertPath: input.caCertPath,
      clientCertPath: input.clientCertPath,
      clientKeyPath: input.clientKeyPath,
      auth,
      allowlist,
    };
  }
}
