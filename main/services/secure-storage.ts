/**
 * Protects small secrets (member identities' private keys, a Vault token) with Electron's
 * safeStorage: the OS keychain on macOS, DPAPI on Windows, libsecret/kwallet on Linux. Uses the
 * asynchronous API (encryptStringAsync / decryptStringAsync) where the running Electron has it,
 * else the synchronous one. Electron is passed in; this module does not import it.
 */
import { CofferError } from '../core/errors';

export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  getSelectedStorageBackend?: () => string;
  /** A shell's own store names itself on every platform (the browser shell: keyring or passphrase file). */
  describe?: () => string;
  encryptString(plain: string): Buffer;
  decryptString(sealed: Buffer): string;
  isAsyncEncryptionAvailable?: () => boolean | Promise<boolean>;
  encryptStringAsync?: (plain: string) => Promise<Buffer>;
  decryptStringAsync?: (sealed: Buffer) => Promise<string | { result: string; shouldReEncrypt?: boolean }>;
}

export const BASIC_TEXT_WARNING =
  'This computer has no keyring service (the Linux "basic_text" backend): private keys stored by Coffer are only obfuscated, not encrypted. Install and unlock GNOME Keyring or KWallet, or keep your member key in a passphrase-protected vault slot instead.';

export class SecureStorage {
  constructor(private readonly safe: SafeStorageLike, private readonly platform: NodeJS.Platform = process.platform) {}

  /** Linux backend name, or "os" on platforms where there is only one. */
  backend(): string {
    if (this.safe.describe) return this.safe.describe();
    if (this.platform !== 'linux') return 'os';
    try {
      return this.safe.getSelectedStorageBackend?.() ?? 'unknown';
    } catch {
      return 'unknown';
    }
  }

  /** A warning for people when secrets are only obfuscated, else null. */
  warning(): string | null {
    if (!this.safe.isEncryptionAvailable()) return 'No OS keychain is available: Coffer cannot store private keys on this computer until one is.';
    return this.backend() === 'basic_text' ? BASIC_TEXT_WARNING : null;
  }

  protection(): 'os-keychain' | 'obfuscated-only' {
    return this.backend() === 'basic_text' ? 'obfuscated-only' : 'os-keychain';
  }

  async seal(plain: string): Promise<Buffer> {
    if (!this.safe.isEncryptionAvailable()) throw new CofferError('IO', 'no OS keychain is available to protect the private key; unlock or install one and try again');
    if (this.safe.encryptStringAsync) return this.safe.encryptStringAsync(plain);
    return this.safe.encryptString(plain);
  }

  async open(sealed: Buffer): Promise<string> {
    if (!this.safe.isEncryptionAvailable()) throw new CofferError('IO', 'the OS keychain is not available, so stored private keys cannot be read');
    try {
      if (this.safe.decryptStringAsync) {
        const r = await this.safe.decryptStringAsync(sealed);
        return typeof r === 'string' ? r : r.result;
      }
      return this.safe.decryptString(sealed);
    } catch (e) {
      throw new CofferError('BAD_IDENTITY_FILE', 'a stored private key could not be decrypted by the OS keychain (was it reset, or the data copied from another computer?)', { cause: e });
    }
  }
}
