/**
 * Finding 1 (critical, W): with the vault's tmp/ replaced by a symlink to ../.., `verify --repair`
 * deleted every regular file older than 7 days in the folder the link points to, and lock, temp and
 * intent files were written through the link.
 *
 * The attack is performed for real: the victim's home folder holds old files, and one named exactly like
 * a coffer temp file of a dead process (so that even the stricter naming rule alone would not save it).
 * Positive control: the same attack against the pre-issue-9 storage door (fixtures/legacy-fs-storage.ts)
 * deletes that file and writes the lock into the victim's folder, so these assertions would have failed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openVault } from '../../main/core/vault';
import { thisHost } from '../../main/core/vault/storage';
import { runCoffer } from '../helpers/cli';
import { LegacyFsStorage } from './fixtures/legacy-fs-storage';
import { deadPid, makeTree, newVault, open, ownTempName, sandbox, snapshot, type Sandbox } from './helpers';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

const OLD = (Date.now() - 30 * 24 * 3600 * 1000) / 1000;

/** base/home (the victim) holds base/home/sync/vault; the vault's tmp/ -> ../.. points at base/home. */
async function setUp(): Promise<{ home: string; vault: string; bait: string }> {
  sb = sandbox();
  const home = path.join(sb.base, 'home');
  const vaultDir = path.join(home, 'sync', 'vault');
  mkdirSync(path.dirname(vaultDir), { recursive: true });
  sb.dir = vaultDir;
  const { vault } = await newVault(sb, { passphrase: 'pw' });
  makeTree(path.join(sb.base, 'in'), { 'a.txt': 'A' });
  await vault.add([path.join(sb.base, 'in/a.txt')]);
  vault.lock();
  makeTree(home, { 'thesis.tex': 'years of work', 'photos/cat.jpg': 'meow' });
  const bait = ownTempName(thisHost(), deadPid());
  writeFileSync(path.join(home, bait), 'not coffer\'s: the user made this');
  for (const f of ['thesis.tex', 'photos/cat.jpg', bait]) utimesSync(path.join(home, f), OLD, OLD);
  // The attack: W replaces tmp/ by a link two levels up.
  rmSync(path.join(vaultDir, 'tmp'), { recursive: true, force: true });
  symlinkSync('../..', path.join(vaultDir, 'tmp'));
  return { home, vault: vaultDir, bait };
}

describe('finding 1: tmp/ symlinked out of the vault', () => {
  it('verify --repair refuses to work through the link and touches nothing outside the vault', async () => {
    const { home, vault } = await setUp();
    const before = snapshot(home, [vault]);
    const v = await open(sb, { passphrase: 'pw' });
    await expect(v.verify({ repair: true })).rejects.toMatchObject({ code: 'VAULT_TAMPERED', message: expect.stringMatching(/tmp\/ .* is a symbolic link/) });
    // Nor may any mutation write its lock or temp files through the link.
    makeTree(path.join(sb.base, 'in'), { 'b.txt': 'B' });
    await expect(v.add([path.join(sb.base, 'in/b.txt')])).rejects.toMatchObject({ code: 'VAULT_TAMPERED' });
    await expect(v.mkdir('x')).rejects.toMatchObject({ code: 'VAULT_TAMPERED' });
    v.lock();
    expect(snapshot(home, [vault])).toEqual(before);
  });

  it('the CLI ends with one coffer: line and exit 1; the victim folder is unchanged', async () => {
    const { home, vault } = await setUp();
    const before = snapshot(home, [vault]);
    const r = await runCoffer(['vault', 'verify', vault, '--repair', '-p'], { env: { COFFER_PASSPHRASE: 'pw', COFFER_STATE_DIR: sb.state } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^coffer: tmp\/ in the vault at .* is a symbolic link, not a folder/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(snapshot(home, [vault])).toEqual(before);
  });

  it('positive control: the same attack through the old storage door deletes the user\'s file', async () => {
    const { home, bait } = await setUp();
    const v = await openVault(sb.dir, { credentials: { passphrase: 'pw' }, stateDir: sb.state, storage: new LegacyFsStorage(sb.dir) });
    const rep = await v.verify({ repair: true });
    v.lock();
    expect(rep.repaired).toContain(`tmp/${bait}`);
    expect(existsSync(path.join(home, bait))).toBe(false); // deleted outside the vault, through the link
    expect(existsSync(path.join(home, 'thesis.tex'))).toBe(true); // today's repair also needs coffer's own naming
  });
});

describe('verify --repair removes only its own leftovers, and says so', () => {
  it('own temp and intent files of dead processes go; foreign files, links and live processes stay', async () => {
    sb = sandbox();
    const { vault } = await newVault(sb, { passphrase: 'pw' });
    vault.lock();
    const tmp = path.join(sb.dir, 'tmp');
    const dead = deadPid();
    const outside = path.join(sb.base, 'outside.txt');
    writeFileSync(outside, 'outside');
    const ownTmp = ownTempName(thisHost(), dead);
    const ownIntent = ownTempName(thisHost(), dead, 'intent');
    const live = ownTempName(thisHost(), process.pid).replace('0123', '4567');
    writeFileSync(path.join(tmp, ownTmp), 'partial');
    writeFileSync(path.join(tmp, ownIntent), JSON.stringify({ v: 1, op: 'add', created: '', objects: [] }));
    writeFileSync(path.join(tmp, live), 'in use');
    writeFileSync(path.join(tmp, 'notes.txt'), 'foreign');
    utimesSync(path.join(tmp, 'notes.txt'), OLD, OLD);
    const linkName = ownTempName(thisHost(), dead).replace('0123', '89ab');
    symlinkSync(outside, path.join(tmp, linkName));
    const v = await open(sb, { passphrase: 'pw' });
    const rep = await v.verify({ repair: true });
    v.lock();
    expect(rep.repaired.sort()).toEqual([`tmp/${ownIntent}`, `tmp/${ownTmp}`].sort());
    expect(existsSync(path.join(tmp, ownTmp))).toBe(false);
    for (const kept of [live, 'notes.txt', linkName]) expect(lstatSync(path.join(tmp, kept), { throwIfNoEntry: false })).toBeDefined();
    expect(rep.problems).toContainEqual(expect.objectContaining({ object: 'tmp/notes.txt', code: 'UNKNOWN_FILE', repairable: false }));
    expect(rep.problems).toContainEqual(expect.objectContaining({ object: `tmp/${linkName}`, code: 'UNKNOWN_FILE', repairable: false }));
    expect(existsSync(outside)).toBe(true);
  });
});
