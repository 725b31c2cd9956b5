/**
 * What stands in for Electron's safeStorage in the browser shell. Small secrets (member keys'
 * private halves, a Vault token) are sealed with XChaCha20-Poly1305 under a 32-byte local key, and
 * that key is kept:
 * - in the platform keyring through the `secret-tool` CLI (libsecret: GNOME Keyring, KWallet's
 *   Secret Service) when it is installed and a keyring answers; or
 * - in `local-store.json`, wrapped under a passphrase (Argon2id) the person types in the terminal
 *   that runs `coffer ui` (or gives in COFFER_UI_PASSPHRASE / --passphrase-file).
 * The app says which (app:info storageBackend), and warns when neither is available.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CofferError } from '../core/errors';
import { sodium, AEAD_NPUBBYTES, PWHASH_SALTBYTES } from '../core/crypto/sodium';
import type { SafeStorageLike } from '../services/secure-storage';
import { writeFileAtomic } from '../services/fsutil';

const AD = Buffer.from('coffer-ui-local-store-v1');
const KEYRING_ATTRS = ['service', 'coffer', 'account', 'local-store-key'];
/** Argon2id cost for the local store's passphrase (the same as a new vault's passphrase slot). */
const OPS = 3;
const MEM = 64 * 1024 * 1024;

export interface LocalStore extends SafeStorageLike {
  /** "keyring (secret-tool)", "passphrase-protected file", or "none". */
  readonly kind: 'keyring' | 'passphrase' | 'none';
}

function onPath(cmd: string, env: NodeJS.ProcessEnv): boolean {
  return (env.PATH ?? '').split(path.delimiter).some((d) => d && existsSync(path.join(d, cmd)));
}

function sealer(key: Uint8Array, kind: LocalStore['kind'], label: string): LocalStore {
  return {
    kind,
    isEncryptionAvailable: () => true,
    describe: () => label,
    encryptString(plain) {
      const nonce = sodium().randomBytes(AEAD_NPUBBYTES);
      return Buffer.concat([nonce, sodium().aeadEncrypt(Buffer.from(plain, 'utf8'), AD, nonce, key)]);
    },
    decryptString(sealed) {
      const out = sodium().aeadDecrypt(sealed.subarray(AEAD_NPUBBYTES), AD, sealed.subarray(0, AEAD_NPUBBYTES), key);
      if (!out) throw new CofferError('BAD_IDENTITY_FILE', 'a stored secret could not be decrypted with this computer’s local key');
      return Buffer.from(out).toString('utf8');
    },
  };
}

function unavailable(reason: string): LocalStore {
  const fail = (): never => {
    throw new CofferError('IO', reason);
  };
  return { kind: 'none', isEncryptionAvailable: () => false, describe: () => 'none (no keyring, no passphrase)', encryptString: fail, decryptString: fail };
}

/** The local key from the keyring (made and stored on first use), or null if no keyring answers. */
function keyringKey(env: NodeJS.ProcessEnv): Uint8Array | null {
  if (!onPath('secret-tool', env)) return null;
  const opts = { env, encoding: 'utf8' as const, timeout: 20_000 };
  const found = spawnSync('secret-tool', ['lookup', ...KEYRING_ATTRS], opts);
  if (found.status === 0 && /^[A-Za-z0-9+/]{43}=$/.test(found.stdout.trim())) return Buffer.from(found.stdout.trim(), 'base64');
  const key = Buffer.from(sodium().randomBytes(32));
  const stored = spawnSync('secret-tool', ['store', '--label=Coffer local key', ...KEYRING_ATTRS], { ...opts, input: key.toString('base64') });
  if (stored.status !== 0) return null;
  const again = spawnSync('secret-tool', ['lookup', ...KEYRING_ATTRS], opts);
  return again.status === 0 && again.stdout.trim() === key.toString('base64') ? key : null;
}

interface StoreFile {
  v: 1;
  salt: string;
  ops: number;
  mem: number;
  /** The local key, sealed under the passphrase's key. */
  sealed: string;
}

/** The local key from local-store.json under `passphrase` (created on first use). */
export async function passphraseKey(dataDir: string, passphrase: string): Promise<Uint8Array> {
  const file = path.join(dataDir, 'local-store.json');
  const s = sodium();
  if (existsSync(file)) {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as Partial<StoreFile>;
    if (raw.v !== 1 || typeof raw.salt !== 'string' || typeof raw.sealed !== 'string' || raw.ops !== OPS || raw.mem !== MEM) throw new CofferError('BAD_IDENTITY_FILE', `${file} is not a Coffer local store`);
    const kek = s.argon2id(32, Buffer.from(passphrase, 'utf8'), Buffer.from(raw.salt, 'base64'), OPS, MEM);
    const sealed = Buffer.from(raw.sealed, 'base64');
    const key = s.aeadDecrypt(sealed.subarray(AEAD_NPUBBYTES), AD, sealed.subarray(0, AEAD_NPUBBYTES), kek);
    s.memzero(kek);
    if (!key) throw new CofferError('WRONG_PASSPHRASE', 'wrong passphrase for the local key store (local-store.json)');
    return key;
  }
  const salt = s.randomBytes(PWHASH_SALTBYTES);
  const kek = s.argon2id(32, Buffer.from(passphrase, 'utf8'), salt, OPS, MEM);
  const key = s.randomBytes(32);
  const nonce = s.randomBytes(AEAD_NPUBBYTES);
  const body: StoreFile = { v: 1, salt: Buffer.from(salt).toString('base64'), ops: OPS, mem: MEM, sealed: Buffer.concat([nonce, s.aeadEncrypt(key, AD, nonce, kek)]).toString('base64') };
  s.memzero(kek);
  await writeFileAtomic(file, JSON.stringify(body, null, 2));
  return key;
}

export interface LocalStoreOptions {
  dataDir: string;
  env?: NodeJS.ProcessEnv;
  /** Asks the person for the store's passphrase (terminal); null when no one can answer. */
  askPassphrase?: (firstTime: boolean) => Promise<string | null>;
  /** Skip the keyring (tests; COFFER_UI_STORE=passphrase). */
  noKeyring?: boolean;
}

export async function openLocalStore(opts: LocalStoreOptions): Promise<LocalStore> {
  const env = opts.env ?? process.env;
  if (!opts.noKeyring && env.COFFER_UI_STORE !== 'passphrase') {
    const key = keyringKey(env);
    if (key) return sealer(key, 'keyring', 'keyring (secret-tool)');
  }
  const firstTime = !existsSync(path.join(opts.dataDir, 'local-store.json'));
  const pass = env.COFFER_UI_PASSPHRASE ?? (await opts.askPassphrase?.(firstTime)) ?? null;
  if (!pass) {
    return unavailable('no keyring answers (secret-tool) and no passphrase was given for the local key store: start `coffer ui` in a terminal, or set COFFER_UI_PASSPHRASE, to store member keys and Vault tokens');
  }
  return sealer(await passphraseKey(opts.dataDir, pass), 'passphrase', 'passphrase-protected file (no keyring)');
}
