/**
 * Makes the frozen format 2 vault in ./v2 and ./expected-v2.json, ONCE: it refuses to run when ./v2
 * exists (the output is committed and never regenerated; tests only read it):
 *   npx tsx test/vectors/vault/generate-v2.ts
 *
 * The vault: passphrase, recovery and two x25519 members (M stays, R is revoked); nested folders and
 * files; R revoked without re-encryption (so the revocation epoch carries a manifest and records under
 * the closed epoch stay valid through it: one record is put back as it was before the revocation);
 * a file added after the revocation; then R's attacks left in the folder: a fork from the epoch R
 * knew, with a slot of R's own, and a record forged under the closed epoch. expected-v2.json lists
 * what a correct implementation shows: the entries with their SHA-256, the members, the current
 * epoch, and the problems (the fork and the forged record, by object).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { initSodium } from '../../../main/core/crypto/sodium';
import { X25519Identity } from '../../../main/core/keys/x25519';
import { initVault, openVault } from '../../../main/core/vault';
import { copyKeys, forgeFile, forkEpoch, stealEpochKeys } from '../../hostile/attacker';

async function main(): Promise<void> {
  await initSodium();
  const here = __dirname;
  const out = path.join(here, 'v2');
  if (existsSync(out) || existsSync(path.join(here, 'expected-v2.json'))) {
    throw new Error(`${out} exists: frozen vectors are never regenerated`);
  }
  const work = mkdtempSync(path.join(tmpdir(), 'coffer-vector-v2-'));
  const state = path.join(work, 'state');
  const m = X25519Identity.generate();
  const r = X25519Identity.generate();
  const passphrase = 'vector v2 passphrase';
  const { vault, recoveryKey } = await initVault(out, {
    name: 'Frozen vector v2', passphrase, kdf: { opsLimit: 1, memKiB: 8 }, stateDir: state,
    recipients: [{ recipient: m.recipient().toString(), label: 'Member M' }, { recipient: r.recipient().toString(), label: 'Member R' }],
  });
  const src = path.join(work, 'src');
  mkdirSync(path.join(src, 'docs/deep'), { recursive: true });
  writeFileSync(path.join(src, 'hello.txt'), 'Hello, format 2!\n');
  writeFileSync(path.join(src, 'docs/empty.txt'), '');
  writeFileSync(path.join(src, 'docs/deep/chunks.bin'), Buffer.from(Array.from({ length: 65536 + 100 }, (_, i) => (i * 13) & 255)));
  await vault.add([path.join(src, 'hello.txt'), path.join(src, 'docs')]);
  const rSlot = (await vault.members()).slots.find((s) => s.label === 'Member R')?.id as string;
  const closed = vault.epoch;
  const kept = await stealEpochKeys(out, rSlot, r, closed);
  const helloId = vault.stat('hello.txt')?.id as string;
  const helloBefore = readFileSync(path.join(out, 'records', `${helloId}.rec`));
  await vault.revoke(rSlot);
  writeFileSync(path.join(src, 'after.txt'), 'added after the revocation\n');
  await vault.add([path.join(src, 'after.txt')]);
  vault.lock();
  // hello.txt's record as it was before the revocation: under the closed epoch, listed in the manifest.
  writeFileSync(path.join(out, 'records', `${helloId}.rec`), helloBefore);
  // R's attacks.
  const laptop = X25519Identity.generate();
  await forkEpoch(out, copyKeys(kept), { ownRecipient: laptop.recipient().toString(), n: 9 });
  await forgeFile(out, copyKeys(kept), { name: 'invoice.txt', content: 'pay R\n' });
  rmSync(path.join(out, 'tmp'), { recursive: true, force: true });

  const v = await openVault(out, { credentials: { passphrase }, stateDir: path.join(work, 'state2'), heal: false });
  const entries = [];
  for (const e of v.list('', { recursive: true })) {
    let sha256: string | null = null;
    if (e.type === 'file') {
      const h = createHash('sha256');
      await v.readFile(e.path, new Writable({ write: (c: Buffer, _e, cb) => { h.update(c); cb(); } }));
      sha256 = h.digest('hex');
    }
    entries.push({ path: e.path, type: e.type, size: e.size, version: e.version, conflict: e.conflict?.source ?? null, sha256 });
  }
  const members = (await v.members()).slots.map((s) => ({ id: s.id, type: s.type, label: s.label, fingerprint: s.fingerprint, status: s.status }));
  const problems = v.problems.map((p) => ({ severity: p.severity, code: p.code, object: p.object })).sort((a, b) => a.object.localeCompare(b.object) || a.code.localeCompare(b.code));
  const expected = {
    outcome: 'success', format: v.formatVersion, vaultId: v.id, name: v.name, epoch: v.epoch,
    credentials: { passphrase, recoveryKey, member: m.toString() },
    entries, members, problems,
  };
  v.lock();
  writeFileSync(path.join(here, 'expected-v2.json'), `${JSON.stringify(expected, null, 2)}\n`);
  rmSync(work, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exitCode = 1;
});
