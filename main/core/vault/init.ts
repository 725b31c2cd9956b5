/**
 * `initVault`: creates a vault in an empty folder (descriptor, first epoch, recovery, passphrase and
 * member slots), then opens it. The recovery key is returned once and stored nowhere.
 */
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { CofferError } from '../errors';
import { initSodium, sodium } from '../crypto/sodium';
import { encodeHeader } from '../format/header';
import type { Argon2Params } from '../keys/passphrase';
import { parseRecipient } from '../keys/recipients';
import { fileKeyGuardFor } from '../keys/transit/strict';
import { X25519Identity } from '../keys/x25519';
import { EpochKeys, VAULT_KEY_BYTES, signObject } from './crypto';
import {
  DESCRIPTOR_KEY, VAULT_FORMAT, VAULT_VERSION, epochKey, nowIso, sha256hex, slotKey, wrapKeyName, type EpochBody, type VaultDescriptor,
} from './layout';
import { newEpochId, newId, newSlotId } from './names';
import { generateRecoveryKey, recoverySecretKey } from './recovery';
import { newPassphraseSlotKeys, slotKind, slotTypeForRecipient, type SlotBody } from './slots';
import { updateMemory } from './state';
import { FsStorage, type VaultStorage } from './storage';
import { openVault, type Vault } from './vault';

export interface InitOptions {
  readonly name?: string;
  /** Adds a passphrase slot. */
  readonly passphrase?: string;
  /** Argon2id cost for the passphrase slot (default: DEFAULT_ARGON2). Tests pass small values. */
  readonly kdf?: Argon2Params;
  /** Member recipients (`coffer1…`, or any registered provider's recipient string). */
  readonly recipients?: readonly { readonly recipient: string; readonly label?: string }[];
  readonly stateDir: string;
  readonly storage?: VaultStorage;
  /** Strict mode: key guard id that also seals every file key, e.g. "vault-transit:transit/kek". */
  readonly strict?: string;
}

/** Creates a vault in `dir` (absent or empty). The recovery key is returned once and stored nowhere. */
export async function initVault(dir: string, opts: InitOptions): Promise<{ vault: Vault; recoveryKey: string }> {
  await initSodium();
  const na = sodium();
  const storage = opts.storage ?? new FsStorage(dir);
  if (storage instanceof FsStorage) {
    const existing = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return [] as string[];
      throw e;
    });
    if (existing.length > 0) throw new CofferError('EXISTS', `${dir} is not empty; a vault needs an empty or new folder`);
    await mkdir(dir, { recursive: true });
  }
  if (!opts.passphrase && (opts.recipients ?? []).length === 0) {
    throw new CofferError('USAGE', 'a vault needs a passphrase (-p) or at least one member recipient (-r)');
  }
  const members = (opts.recipients ?? []).map((m) => ({ r: parseRecipient(m.recipient), text: m.recipient.trim(), label: m.label }));
  const strict = opts.strict ? fileKeyGuardFor(opts.strict).id : undefined;
  const desc: VaultDescriptor = { format: VAULT_FORMAT, version: VAULT_VERSION, id: newId(), name: (opts.name ?? path.basename(path.resolve(dir))).trim() || 'vault', created: nowIso(), ...(strict ? { strict } : {}) };
  const descBytes = Buffer.from(`${JSON.stringify(desc, null, 2)}\n`, 'utf8');
  const eid = newEpochId(1);
  const vk = na.secureAlloc(VAULT_KEY_BYTES);
  vk.set(na.randomBytes(VAULT_KEY_BYTES));
  const keys = new EpochKeys(eid, vk, desc.id);
  const created = nowIso();
  const slots: SlotBody[] = [];
  const rec = generateRecoveryKey();
  const rsk = recoverySecretKey(rec.key);
  na.memzero(rec.key);
  const rid = new X25519Identity(rsk);
  na.memzero(rsk);
  const rRecipient = rid.recipient();
  rid.destroy();
  slots.push({ v: 1, vault: desc.id, slot: newSlotId(), type: 'recovery', label: 'recovery key', fingerprint: rRecipient.fingerprint, created, epoch: eid, recipient: rRecipient.toString() });
  let passSecret: { slot: string; key: Uint8Array } | null = null;
  if (opts.passphrase) {
    const p = newPassphraseSlotKeys(opts.passphrase, opts.kdf);
    const sid = newSlotId();
    slots.push({ v: 1, vault: desc.id, slot: sid, type: 'passphrase', label: 'passphrase', fingerprint: p.recipient.fingerprint, created, epoch: eid, recipient: p.recipient.toString(), secret: p.secret });
    passSecret = { slot: sid, key: p.secretKey };
  }
  for (const m of members) {
    slots.push({ v: 1, vault: desc.id, slot: newSlotId(), type: slotTypeForRecipient(m.r), label: m.label ?? `member ${m.r.fingerprint ?? ''}`.trim(), fingerprint: m.r.fingerprint ?? '', created, epoch: eid, recipient: m.text });
  }
  for (const s of slots) {
    const stanzas = await slotKind(s.type).recipient(s).wrap(vk);
    await storage.put(wrapKeyName(s.slot, eid), encodeHeader(stanzas, vk));
    await storage.put(slotKey(s.slot), signObject('slot', s, keys.mac));
  }
  const body: EpochBody = {
    v: 2, vault: desc.id, epoch: eid, n: 1, parents: [], created, descriptor: sha256hex(descBytes), chain: {},
    members: slots.map((s) => s.slot), revoked: [], revokedFingerprints: [],
    memberKeys: Object.fromEntries(slots.map((s) => [s.slot, sha256hex(Buffer.from(s.recipient, 'utf8'))])),
  };
  await storage.put(epochKey(eid), signObject('epoch', body, keys.mac));
  // The descriptor goes last: until it exists, the folder is not a vault.
  await storage.put(DESCRIPTOR_KEY, descBytes);
  await updateMemory(opts.stateDir, desc.id, { epochN: 1, epochId: eid });
  keys.wipe();
  const vault = await openVault(dir, {
    storage, stateDir: opts.stateDir,
    credentials: { recoveryKey: rec.text },
  });
  if (passSecret) {
    vault.rememberSlotSecret(passSecret.slot, passSecret.key);
  }
  return { vault, recoveryKey: rec.text };
}
