/**
 * Opening and keeping up to date: `load` (re)reads the folder, unlocks, chooses the history that
 * counts (history.ts), refuses rollbacks and a swapped descriptor, then reads the records. `mutate`
 * runs every change under the writer lock on a freshly loaded vault, after migrating a format 1
 * vault and healing what sync clients left (concurrent epochs, members without the current wrap).
 */
import path from 'node:path';
import { CofferError, isCofferError } from '../errors';
import { encodeB64 } from '../format/base64';
import { epochFileHash } from './anchor';
import type { VaultCore } from './core';
import { confirmTransitAnchor, readHardwareAnchors } from './freshness';
import { Ancestry, chooseHistory } from './history';
import {
  DESCRIPTOR_KEY, EPOCHS, KEYS, RECORDS, SLOTS, VAULT_VERSION, descriptorBytes, epochKey, sha256hex, type VaultDescriptor,
} from './layout';
import { newEpoch } from './new-epoch';
import { compactIfNeeded, loadManifests, loadRecords } from './records';
import { readMemory, updateMemory, writerId } from './state';
import { errnoOf } from './storage';
import { loadEpochs, loadSlots, memberSlots, openEpochs, verifySlots } from './unlock';

/** (Re)reads the vault from storage: epochs, slots, records; unlocks new epochs. Idempotent. */
export async function load(c: VaultCore): Promise<void> {
  c.ensureOpen();
  c.loadProblems = [];
  c.tree = null;
  await loadEpochs(c);
  if (c.epochs.size === 0) throw new CofferError('VAULT_INVALID', `${c.location} has no valid epoch: it is damaged or incomplete`);
  const mem = await readMemory(c.stateDir, c.id);
  c.memEntries = mem.entries;
  if (!c.index.writer) c.index.writer = mem.writer ?? await writerId(c.stateDir, c.id);
  if (c.firstLoad) c.hadState = mem.epochN >= 0;
  await loadSlots(c);
  const errors: CofferError[] = [];
  await openEpochs(c, errors);
  if (c.keyring.size === 0) {
    const tampered = c.loadProblems.find((p) => p.object.startsWith(`${EPOCHS}/`) && p.code === 'VAULT_TAMPERED' && /failed authentication/.test(p.message));
    if (tampered) throw new CofferError('VAULT_TAMPERED', `vault ${c.name}: ${tampered.message}`);
    const first = errors.find((e) => e.code === 'WRONG_PASSPHRASE') ?? errors[0];
    if (first?.code === 'TRANSIT_VERSION_TOO_OLD') {
      throw new CofferError(first.code, `${first.message} If vault ${c.name} is anchored to this key (coffer vault anchor), this folder is an older copy: restore the newest one, or wait for it to finish syncing.`);
    }
    if (first) throw first;
    throw new CofferError('NO_IDENTITY', c.credentialsGiven()
      ? `none of the keys given opens vault ${c.name} (its slots: ${[...new Set(c.slots.map((s) => s.obj.body.type))].join(', ')}; a member who was removed no longer has a key file for it)`
      : `vault ${c.name} is locked: give a passphrase (-p), an identity (-i) or the recovery key`);
  }
  // A reload answers as a fresh open with the same keys would: if every key file of the slots that
  // opened this session is gone (the slot was revoked, or its files deleted), the keys no longer open it.
  // (Slots this session revoked itself do not count: removing one's own way in is deliberate.)
  const mine = [...c.openedBy].filter((sid) => !c.revokedHere.has(sid));
  if (!c.firstLoad && mine.length > 0 && !mine.some((sid) => [...c.keyring.keys()].some((e) => c.wrapNames.has(`${sid}.${e}.key`)))) {
    throw new CofferError('NO_IDENTITY', `vault ${c.name}: the keys this session was opened with are no longer among its members (their key files were removed: revoked, or deleted)`);
  }
  const opened = new Map([...c.keyring.keys()].map((id) => [id, { n: c.bodyOf(id).n, revokes: c.bodyOf(id).revoked.length > 0 }]));
  c.ancestry = new Ancestry(c.links);
  if (c.firstLoad) await readHardwareAnchors(c);
  const choice = chooseHistory({
    opened, links: c.links, seenRevocations: mem.revocations, remembered: mem.epochId, present: new Set(c.epochs.keys()), vaultName: c.name,
    anchors: c.hwAnchors,
  }, c.ancestry);
  for (const a of c.hwAnchors) {
    const e = c.epochs.get(a.id);
    if (e && epochFileHash(`${e.obj.text}\nmac: ${encodeB64(e.obj.mac)}\n`) !== a.hash) {
      throw new CofferError('VAULT_TAMPERED', `vault ${c.name}: epoch ${a.id} is not the one ${a.source} records (its file differs): the folder was altered. Restore the newest copy, or ask the vault's owner`);
    }
  }
  const current = choice.current;
  const maxN = Math.max(...[...choice.trusted].map((e) => c.bodyOf(e).n));
  if (mem.epochN > maxN) {
    throw new CofferError('VAULT_ROLLBACK', `vault ${c.name} was rolled back: this computer has seen epoch ${mem.epochN}, but the folder's newest is ${maxN}. Restore the newer copy; if the rollback is intended, remove ${path.join(c.stateDir, 'vaults', `${c.id}.json`)}`);
  }
  c.head = current;
  c.joinable = choice.joinable;
  c.trusted = choice.trusted;
  c.revocations = choice.revocations;
  c.revocationsKey = choice.revocations.join();
  for (const f of choice.forks) {
    c.problem({ severity: 'warning', code: 'FORK', object: epochKey(f.id), message: `epoch ${f.id} opens with your keys but is not joined: ${f.reason}. Its slots get no keys and its records are ignored` });
  }
  const curN = c.bodyOf(current).n;
  for (const e of c.epochs.values()) {
    if (!c.keyring.has(e.id) && e.obj.body.n > curN) {
      c.problem({ severity: 'warning', code: 'CONFLICT', object: epochKey(e.id), message: `epoch ${e.id} cannot be opened with these keys (you may have been removed, its key files may not have synced yet, or it was planted); the vault is shown as of epoch ${current}` });
    }
  }
  const headBody = c.bodyOf(current);
  let interrupted = false;
  if (headBody.descriptor !== sha256hex(c.descBytes)) {
    // A migration to format 2 writes the descriptor first; if it stopped there, the epoch still
    // names the same descriptor in its format 1 form, and the next change finishes the migration.
    interrupted = c.desc.version === 2 && headBody.descriptor === sha256hex(descriptorBytes({ ...c.desc, version: 1 }));
    if (!interrupted) throw new CofferError('VAULT_TAMPERED', `${DESCRIPTOR_KEY} was altered or swapped (it does not match epoch ${current})`);
  }
  c.needsMigration = interrupted || c.desc.version === 1;
  verifySlots(c);
  if (c.firstLoad) await confirmTransitAnchor(c, current);
  await loadManifests(c);
  await loadRecords(c);
  const versions: Record<string, number> = {};
  // Only what this computer has not remembered yet: an open that learned nothing new writes nothing.
  for (const n of c.index.records.values()) {
    if (n.conflict) continue;
    const seen = c.memEntries[n.body.id];
    if (seen === undefined || Math.abs(seen) < n.body.version) versions[n.body.id] = Math.max(versions[n.body.id] ?? 0, n.body.version);
  }
  const known = mem.epochId === current && mem.epochN === headBody.n && choice.revocations.every((r) => mem.revocations.includes(r));
  if (!known || Object.keys(versions).length > 0) {
    const saved = await updateMemory(c.stateDir, c.id, { epochN: headBody.n, epochId: current, entries: versions, revocations: choice.revocations });
    c.memEntries = saved.entries;
  }
  if (c.firstLoad && !c.hadState && c.freshness.length === 0) {
    c.openWarnings.push(`this computer has not opened vault ${c.name} before, so it cannot tell whether the folder was rolled back to an older copy (for example one from before a member was removed). If that matters, confirm with another member that epoch ${current} is the newest`);
  }
  c.firstLoad = false;
}

/**
 * Runs a change under the writer lock, on a freshly re-read vault, after healing forks
 * (concurrent epochs) and missing key wraps.
 */
export async function mutate<T>(c: VaultCore, fn: () => Promise<T>): Promise<T> {
  c.ensureOpen();
  const release = await c.storage.lock();
  try {
    await load(c);
    if (c.needsMigration) await migrateNow(c);
    await heal(c);
    const out = await fn();
    // Loose records or packs piled up: a checkpoint, so that opening stays a few reads (FORMAT.md §6.18).
    await compactIfNeeded(c);
    return out;
  } finally {
    await release();
  }
}

/** Merges concurrent epochs into one and wraps the current epoch for members that lack it. */
export async function heal(c: VaultCore): Promise<void> {
  if (c.joinable.length > 0) {
    await newEpoch(c, { revoke: [], anchor: 'carry' });
    return;
  }
  const present = new Set((await c.storage.list(KEYS)).map((o) => o.name));
  for (const { slot, status } of memberSlots(c)) {
    if (status !== 'active') continue;
    const name = `${slot.obj.body.slot}.${c.head}.key`;
    if (present.has(name)) continue;
    await c.writeWrap(slot.obj.body, c.head, c.headKeys().vk);
  }
}

/** Whether heal() has anything to do: concurrent epochs, or active members without a wrap of the current one. */
async function needsHeal(c: VaultCore): Promise<boolean> {
  if (c.joinable.length > 0) return true;
  const present = new Set((await c.storage.list(KEYS)).map((o) => o.name));
  return memberSlots(c).some((m) => m.status === 'active' && !present.has(`${m.slot.obj.body.slot}.${c.head}.key`));
}

/** Runs heal() under the lock if needed; a folder we cannot write to is left alone (reported as a problem). */
export async function healIfNeeded(c: VaultCore): Promise<boolean> {
  c.ensureOpen();
  if (!(await needsHeal(c))) return false;
  try {
    await mutate(c, () => Promise.resolve());
    return true;
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM' || (isCofferError(e) && e.code === 'VAULT_BUSY')) {
      c.problem({ severity: 'warning', code: 'CONFLICT', object: EPOCHS, message: 'concurrent changes could not be joined (folder not writable or busy); they will be on the next change' });
      return false;
    }
    throw e;
  }
}

/**
 * Moves a format 1 vault to format 2 (docs/FORMAT.md §6.14): the descriptor first (so builds that
 * read only format 1 stop touching the folder), then a new epoch bound to it. Runs on the first
 * change; `migrate()` asks for it explicitly.
 */
export async function migrateNow(c: VaultCore): Promise<void> {
  if (c.desc.version !== VAULT_VERSION) {
    const desc: VaultDescriptor = { ...c.desc, version: VAULT_VERSION };
    const bytes = descriptorBytes(desc);
    await c.storage.put(DESCRIPTOR_KEY, bytes);
    c.desc = desc;
    c.descBytes = bytes;
  }
  await newEpoch(c, { revoke: [], anchor: 'carry' });
  c.needsMigration = false;
}

/**
 * Re-reads the vault only if its folders changed since the last call (other processes, the CLI, a
 * sync client: they all replace objects by rename, which changes the folder's stamp). Returns
 * whether it re-read. Cheap when nothing changed: five `stat`s.
 */
export async function refresh(c: VaultCore): Promise<boolean> {
  c.ensureOpen();
  const stamps = await Promise.all(['', RECORDS, EPOCHS, SLOTS, KEYS].map((f) => c.storage.stamp(f)));
  const s = stamps.map((x) => x ?? '-').join('|'); // '-': the folder does not exist (yet)
  if (s === c.refreshStamp) return false;
  await load(c);
  c.refreshStamp = s; // taken before load: a change during the load is seen by the next call
  return true;
}
