import { describe, expect, it, vi } from 'vitest';
import { BASIC_TEXT_WARNING, SecureStorage, type SafeStorageLike } from '../../main/services/secure-storage';

const base = (backend: string): SafeStorageLike => ({
  isEncryptionAvailable: () => true,
  getSelectedStorageBackend: () => backend,
  encryptString: (s) => Buffer.from(`sync:${s}`),
  decryptString: (b) => b.toString().slice(5),
});

describe('SecureStorage', () => {
  it('warns when the Linux backend only obfuscates (basic_text)', () => {
    const s = new SecureStorage(base('basic_text'), 'linux');
    expect(s.warning()).toBe(BASIC_TEXT_WARNING);
    expect(s.protection()).toBe('obfuscated-only');
    const k = new SecureStorage(base('gnome_libsecret'), 'linux');
    expect(k.warning()).toBeNull();
    expect(k.protection()).toBe('os-keychain');
    expect(new SecureStorage(base('unknown'), 'darwin').backend()).toBe('os');
  });

  it('prefers the asynchronous safeStorage API when Electron has it', async () => {
    const safe: SafeStorageLike = {
      ...base('kwallet6'),
      encryptString: vi.fn(() => Buffer.from('no')),
      encryptStringAsync: vi.fn(async (s: string) => Buffer.from(`async:${s}`)),
      decryptStringAsync: vi.fn(async (b: Buffer) => ({ result: b.toString().slice(6), shouldReEncrypt: false })),
    };
    const s = new SecureStorage(safe, 'linux');
    const sealed = await s.seal('secret');
    expect(sealed.toString()).toBe('async:secret');
    expect(await s.open(sealed)).toBe('secret');
    expect(safe.encryptString).not.toHaveBeenCalled();
  });

  it('refuses to store secrets with no keychain at all, and explains a failed decrypt', async () => {
    const s = new SecureStorage({ ...base('basic_text'), isEncryptionAvailable: () => false }, 'linux');
    await expect(s.seal('x')).rejects.toMatchObject({ code: 'IO' });
    const broken = new SecureStorage({ ...base('kwallet'), decryptString: () => { throw new Error('bad'); } }, 'linux');
    await expect(broken.open(Buffer.from('x'))).rejects.toMatchObject({ code: 'BAD_IDENTITY_FILE' });
  });
});
