/**
 * Hardware keys (YubiKey PIV or any PKCS#11 token) enrolled on this computer. Only identity stubs
 * are stored (module, token serial and label, key reference, public key): no secret. The PIN is
 * used for the one operation it was typed for and never stored.
 */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { candidateModulePaths, resolveModulePath } from '../core/keys/pkcs11/modules';
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
  /** Module files the person picked in the module dialog (pkcs11-modules.json; the window cannot write it). */
  private picked: string[] = [];
  private constructor(
    private readonly file: string,
    private readonly pickedFile: string,
    private readonly defaultModule: () => string,
    private readonly notify: (n: ProviderNotice) => void,
    private readonly env: NodeJS.ProcessEnv,
    private readonly platform: NodeJS.Platform,
  ) {}

  static async load(dataDir: string, defaultModule: () => string, notify: (n: ProviderNotice) => void, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Promise<HardwareKeyService> {
    const s = new HardwareKeyService(path.join(dataDir, 'hardware-keys.json'), path.join(dataDir, 'pkcs11-modules.json'), defaultModule, notify, env, platform);
    s.keys = await readJson<StoredHwKey[]>(s.file, []);
    const picked = await readJson<unknown>(s.pickedFile, []);
    s.picked = Array.isArray(picked) ? picked.filter((x): x is string => typeof x === 'string') : [];
    return s;
  }

  /** Records a module the person picked in the native module dialog (called by the dialog, never by the window). */
  async rememberPicked(file: string): Promise<void> {
    const abs = path.resolve(file);
    if (this.picked.includes(abs)) return;
    this.picked.push(abs);
    await writeFileAtomic(this.pickedFile, JSON.stringify(this.picked, null, 2));
  }

  /**
   * Whether a module path may be loaded into this process: one the person picked in the module
   * dialog, one of the known install locations, or $COFFER_PKCS11_MODULE. Anything else, a path
   * the window typed or one stored in settings by a page, is refused before it is ever dlopen()ed.
   */
  isAllowedModule(file: string): boolean {
    const abs = path.resolve(file);
    if (this.picked.includes(abs)) return true;
    if (this.env.COFFER_PKCS11_MODULE && path.resolve(this.env.COFFER_PKCS11_MODULE) === abs) return true;
    return candidateModulePaths(this.platform, this.env).some((c) => path.resolve(c.path) === abs);
  }

  /** Throws unless `file` is '' (search the usual places) or an allowed module. */
  checkModule(file: string): void {
    if (file && !this.isAllowedModule(file)) {
      throw new CofferError('USAGE', `Coffer loads a PKCS#11 module only from its usual install location or a file chosen with Choose… (not ${path.basename(file)} typed as a path)`);
    }
  }

  private module(given: string): string | undefined {
    const m = given || this.defaultModule();
    this.checkModule(m);
    return m || undefined;
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
    // Never let the stub's own module path decide: the module is always one that passed checkModule.
    const stored = k.module && this.isAllowedModule(k.module) ? k.module : undefined;
    const modulePath = stored ?? this.module('') ?? resolveModulePath({ env: this.env, platform: this.platform });
    return new PivP256Identity(parsePivStubLine(k.stub), { modulePath, env: this.env });
  }

  private save(): Promise<void> {
    return writeFileAtomic(this.file, JSON.stringify(this.keys, null, 2));
  }
}
