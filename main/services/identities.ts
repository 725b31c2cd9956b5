/**
 * This computer's member identities (X25519 key pairs). The public part (recipient string,
 * fingerprint) is kept in identities.json in clear; the private part only sealed by SecureStorage.
 * Private keys are unsealed just for the moment they unwrap a vault key, then wiped.
 */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { CofferError } from '../core/errors';
import { X25519Identity } from '../core/keys/x25519';
import type { MemberIdentity } from '../../preload/contract';
import { readJson, writeFileAtomic } from './fsutil';
import type { SecureStorage } from './secure-storage';

interface StoredIdentity extends MemberIdentity {
  sealed: string; // base64 of safeStorage output
}

export class IdentityService {
  private list_: StoredIdentity[] = [];
  private constructor(private readonly file: string, private readonly storage: SecureStorage, private readonly now: () => Date) {}

  static async load(dataDir: string, storage: SecureStorage, now: () => Date = () => new Date()): Promise<IdentityService> {
    const s = new IdentityService(path.join(dataDir, 'identities.json'), storage, now);
    s.list_ = await readJson<StoredIdentity[]>(s.file, []);
    return s;
  }

  list(): MemberIdentity[] {
    return this.list_.map(({ sealed: _sealed, ...pub }) => pub);
  }

  get(id: string): MemberIdentity {
    const found = this.list_.find((i) => i.id === id);
    if (!found) throw new CofferError('NOT_FOUND', 'that member key is no longer on this computer');
    const { sealed: _sealed, ...pub } = found;
    return pub;
  }

  async create(label: string): Promise<MemberIdentity> {
    const ident = X25519Identity.generate();
    try {
      const recipient = ident.recipient();
      const sealed = await this.storage.seal(ident.toString());
      const entry: StoredIdentity = {
        id: randomUUID(),
        label,
        recipient: recipient.toString(),
        fingerprint: recipient.fingerprint,
        created: this.now().toISOString(),
        protection: this.storage.protection(),
        sealed: sealed.toString('base64'),
      };
      this.list_.push(entry);
      await this.save();
      return this.get(entry.id);
    } finally {
      ident.destroy();
    }
  }

  async remove(id: string): Promise<void> {
    const before = this.list_.length;
    this.list_ = this.list_.filter((i) => i.id !== id);
    if (this.list_.length === before) throw new CofferError('NOT_FOUND', 'that member key is no longer on this computer');
    await this.save();
  }

  /** Unseals one identity. The caller must call destroy() on it when done. */
  async unseal(id: string): Promise<X25519Identity> {
    const found = this.list_.find((i) => i.id === id);
    if (!found) throw new CofferError('NOT_FOUND', 'that member key is no longer on this computer');
    const text = await this.storage.open(Buffer.from(found.sealed, 'base64'));
    return X25519Identity.parse(text);
  }

  private save(): Promise<void> {
    return writeFileAtomic(this.file, JSON.stringify(this.list_, null, 2));
  }
}
