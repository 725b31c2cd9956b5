/**
 * Hardware keys (YubiKey PIV or any PKCS#11 token) enrolled on this computer. Only identity stubs
 * are stored (module, token serial and label, key reference, public key): no secret. The PIN is
 * used for the one operation it was typed for and never stored.
 */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { CofferError } from '../core/errors';
import { enrollHardwareKey, formatPivStubLine, listHardwareKeys, parsePivStubLine, PivP256Identity, PivP256Recipient } from '../core/keys/pkcs11-p256';
import type { ProviderNotice } from '../core/keys/types';
import type { HardwareKey, TokenInfo } from '../../preload/contract';
import { readJson, writeFileAtomic } from './fsutil';
import { formUI } from './ui';

interface StoredHwKey extends HardwareKey {
  stub: string;
}

export interface EnrollInput {
  modulePath: string;
  serial: string;
  slot: string;
  mode: 'generate' | 'existing';
  label: string;
  pin: string;
}

export class HardwareKeyService {
  private keys: StoredHwKey[] = [];
  private constructor(
    private readonly file: string,
    private readonly defaultModule: () => string,
    private readonly notify: (n: ProviderNotice) => void,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  static async load(dataDir: string, defaultModule: () => string, notify: (n: ProviderNotice) => void, env: NodeJS.ProcessEnv = process.env): Promise<HardwareKeyService> {
    const s = new HardwareKeyService(path.join(dataDir, 'hardware-keys.json'), defaultModule, notify, env);
    s.keys = await readJson<StoredHwKey[]>(s.file, []);
    return s;
  }

  private module(given: string): string | undefined {
    return given || this.defaultModule() || undefined;
  }

  async detect(modulePath: string): Promise<{ module: string; tokens: TokenInfo[] }> {
    const r = await listHardwareKeys({ modulePath: this.module(modulePath), env: this.env });
    return {
      module: r.modulePath,
      tokens: r.tokens.map((t) => ({
        slotId: t.slotId,
        label: t.label,
        serial: t.serial,
        manufacturer: t.manufacturer,
        model: t.model,
        keys: t.keys.filter((k) => k.curve === 'P-256').map((k) => ({ label: k.label, id: k.id, curve: k.curve, fingerprint: k.fingerprint ?? '', recipient: k.point ? new PivP256Recipient(k.point).toString() : null })),
      })),
    };
  }

  async enroll(input: EnrollInput): Promise<HardwareKey> {
    const r = await enrollHardwareKey({
      modulePath: this.module(input.modulePath),
      serial: input.serial,
      slot: input.slot,
      mode: input.mode === 'generate' ? 'generate' : 'use-existing',
      label: input.mode === 'generate' ? `coffer-${input.label}`.slice(0, 64) : undefined,
      ui: formUI({ pin: input.pin }, this.notify),
      env: this.env,
    });
    const key: StoredHwKey = {
      id: randomUUID(),
      label: input.label,
      recipient: r.recipient.toString(),
      fingerprint: r.recipient.fingerprint,
      tokenLabel: r.token.label,
      serial: r.token.serial,
      module: r.stub.modulePath ?? '',
      created: new Date().toISOString(),
      stub: formatPivStubLine(r.stub),
    };
    if (this.keys.some((k) => k.fingerprint === key.fingerprint)) throw new CofferError('EXISTS', `that key (${key.fingerprint}) is already enrolled`);
    this.keys.push(key);
    await this.save();
    return this.get(key.id);
  }

  list(): HardwareKey[] {
    return this.keys.map(({ stub: _stub, ...pub }) => pub);
  }

  get(id: string): HardwareKey {
    const k = this.keys.find((x) => x.id === id);
    if (!k) throw new CofferError('NOT_FOUND', 'that hardware key is not enrolled on this computer');
    const { stub: _stub, ...pub } = k;
    return pub;
  }

  async remove(id: string): Promise<void> {
    this.get(id);
    this.keys = this.keys.filter((k) => k.id !== id);
    await this.save();
  }

  /** The identity that unlocks with this token; the PIN is only in the returned UI's closure. */
  identity(id: string): PivP256Identity {
    const k = this.keys.find((x) => x.id === id);
    if (!k) throw new CofferError('NOT_FOUND', 'that hardware key is not enrolled on this computer');
    return new PivP256Identity(parsePivStubLine(k.stub), { modulePath: this.defaultModule() || undefined, env: this.env });
  }

  private save(): Promise<void> {
    return writeFileAtomic(this.file, JSON.stringify(this.keys, null, 2));
  }
}
