/**
 * Finding 13 (low, M/R): a record with `mtime: 1e300` made `ls`, `get`, `mkdir` and `verify` fail with
 * "Invalid time value", naming no culprit.
 *
 * The attack is performed for real (a co-member seals such records with the vault key). Now the record
 * is reported by its id and skipped, and every command keeps working on the rest of the vault.
 * Positive control: 1e300 passed the old check (Number.isFinite) and is exactly what made the old listing
 * throw (new Date(1e300).toISOString()).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { recordProblem } from '../../main/core/vault';
import { runCoffer } from '../helpers/cli';
import { forgeRecord, makeTree, newVault, open, paths, sandbox, type Sandbox } from './helpers';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

const hex = (): string => randomBytes(16).toString('hex');

describe('finding 13: out-of-range record fields', () => {
  it('mtime 1e300 (and other bad fields) are reported by record id; ls, get, mkdir and verify keep working', async () => {
    sb = sandbox();
    const { vault } = await newVault(sb, { passphrase: 'pw' });
    makeTree(path.join(sb.base, 'in'), { 'a.txt': 'AAAA' });
    await vault.add([path.join(sb.base, 'in/a.txt')]);
    const base = { v: 1, type: 'dir', parent: '', size: 0, version: 1 };
    const bad: Record<string, Record<string, unknown>> = {
      [hex()]: { ...base, name: 'far future', mtime: 1e300 },
      [hex()]: { ...base, name: 'negative size', mtime: 0, size: -1 },
      [hex()]: { ...base, name: 'huge version', mtime: 0, version: 2 ** 60 },
      [hex()]: { ...base, mtime: 0, name: 42 },
    };
    for (const [id, body] of Object.entries(bad)) await forgeRecord(vault, { ...body, id });
    vault.lock();

    const v = await open(sb, { passphrase: 'pw' });
    expect(paths(v)).toEqual(['a.txt']);
    const [mtimeId] = Object.keys(bad);
    expect(v.problems).toContainEqual(expect.objectContaining({ code: 'VAULT_TAMPERED', object: `records/${mtimeId as string}.rec`, message: `record ${mtimeId as string} is invalid: mtime 1e+300 is out of range` }));
    for (const id of Object.keys(bad)) expect(v.problems.some((p) => p.object === `records/${id}.rec`)).toBe(true);
    await v.get('a.txt', path.join(sb.base, 'a.out'));
    expect(readFileSync(path.join(sb.base, 'a.out'), 'utf8')).toBe('AAAA');
    await v.mkdir('new');
    const rep = await v.verify();
    expect(rep.problems.filter((p) => p.code === 'VAULT_TAMPERED').map((p) => p.object).sort()).toEqual(Object.keys(bad).map((id) => `records/${id}.rec`).sort());
    v.lock();

    // The CLI names the culprit on stderr and lists the rest.
    const r = await runCoffer(['vault', 'ls', sb.dir, '-p'], { env: { COFFER_PASSPHRASE: 'pw', COFFER_STATE_DIR: sb.state } });
    expect(r.stdout.toString()).toBe('a.txt\nnew/\n');
    expect(r.stderr).toContain(`coffer: error: records/${mtimeId as string}.rec: record ${mtimeId as string} is invalid: mtime 1e+300 is out of range`);
    expect(r.code).toBe(1);
  });

  it('positive control: 1e300 passed the old check and breaks a listing', () => {
    expect(Number.isFinite(1e300)).toBe(true); // the old validRecordBody's whole test of mtime
    expect(() => new Date(1e300).toISOString()).toThrow('Invalid time value');
    expect(recordProblem({ v: 1, id: 'x'.repeat(32), type: 'dir', parent: '', name: 'n', size: 0, mtime: 1e300, version: 1 }, 'x'.repeat(32))).toBe('mtime 1e+300 is out of range');
  });
});
