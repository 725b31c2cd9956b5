/** App settings, kept as JSON in the app's data folder. Validated on read and on write. */
import path from 'node:path';
import { Settings } from '../../preload/contract';
import { readJson, writeFileAtomic } from './fsutil';

export type SettingsValue = Settings;

export const DEFAULT_SETTINGS: SettingsValue = { autoLockMinutes: 10, theme: 'system', pkcs11Module: '', language: 'system' };

export class SettingsService {
  private value: SettingsValue = { ...DEFAULT_SETTINGS };
  private readonly listeners = new Set<(s: SettingsValue) => void>();
  /** Checks a change before it is saved (e.g. the PKCS#11 module must be an allowed one). */
  validate: (next: SettingsValue) => void = () => undefined;
  private constructor(private readonly file: string) {}

  static async load(dataDir: string): Promise<SettingsService> {
    const s = new SettingsService(path.join(dataDir, 'settings.json'));
    const raw = await readJson<unknown>(s.file, {});
    const parsed = Settings.partial().safeParse(raw);
    s.value = { ...DEFAULT_SETTINGS, ...(parsed.success ? parsed.data : {}) };
    return s;
  }

  get(): SettingsValue {
    return { ...this.value };
  }

  async set(patch: Partial<SettingsValue>): Promise<SettingsValue> {
    const next = Settings.parse({ ...this.value, ...patch });
    if (patch.pkcs11Module !== undefined && patch.pkcs11Module !== this.value.pkcs11Module) this.validate(next);
    this.value = next;
    await writeFileAtomic(this.file, JSON.stringify(this.value, null, 2));
    for (const l of this.listeners) l(this.get());
    return this.get();
  }

  onChange(l: (s: SettingsValue) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
