/**
 * commitStaged's compare-and-set (`expect`), which save-back relies on: a staged edit of version N
 * of an entry is committed only while that entry is still at version N. The attack on the old code:
 * another writer (a second device on the same folder) commits version 2 between our read and our
 * commit; without `expect`, our commit silently became version 3 and their content was lost
 * (its blob collected). The last case runs exactly that without `expect` as the positive control.
 */
import { Readable, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { Vault } from '../../../main/core/vault';
import { newVault, open, sandbox, type Sandbox } from './helpers';

const text = async (v: Vault, p: string): Promise<string> => {
  const parts: Buffer[] = [];
  await v.readFile(p, new Writable({ write(c: Buffer, _e, cb) { parts.push(c); cb(); } }));
  return Buffer.concat(parts).toString('utf8');
};
const stage = (v: Vault, s: string) => v.stageStream(Readable.from([Buffer.from(s)]));

describe('Vault.commitStaged with expect (compare-and-set)', () => {
  let sb: Sandbox | null = null;
  const vaults: Vault[] = [];
  afterEach(() => {
    for (const v of vaults.splice(0)) v.lock();
    sb?.cleanup();
    sb = null;
  });

  it('commits over the expected version, refuses a changed, replaced or new entry, and keeps the other side', async () => {
    sb = sandbox();
    const a = (await newVault(sb)).vault;
    vaults.push(a);
    await a.addStream('doc.txt', Readable.from([Buffer.from('v1')]));
    const opened = a.stat('doc.txt');
    expect(opened?.version).toBe(1);
    const b = await open(sb, { passphrase: 'correct horse' });
    vaults.push(b);

    // Another device saves first.
    await b.commitStaged(await stage(b, 'theirs'), 'doc.txt', { expect: { id: opened?.id as string, version: 1 } });
    // Ours, made from version 1, is refused under the lock, and their content stays.
    await expect(a.commitStaged(await stage(a, 'ours'), 'doc.txt', { expect: { id: opened?.id as string, version: 1 } })).rejects.toMatchObject({ code: 'VAULT_CONFLICT' });
    await a.load();
    expect(await text(a, 'doc.txt')).toBe('theirs');
    expect(a.stat('doc.txt')?.version).toBe(2);
    // The right version is accepted.
    await a.commitStaged(await stage(a, 'ours, on top of theirs'), 'doc.txt', { expect: { id: opened?.id as string, version: 2 } });
    expect(await text(a, 'doc.txt')).toBe('ours, on top of theirs');
    // expect null: only a new name.
    await expect(a.commitStaged(await stage(a, 'x'), 'doc.txt', { expect: null })).rejects.toMatchObject({ code: 'VAULT_CONFLICT' });
    await a.commitStaged(await stage(a, 'new'), 'other.txt', { expect: null });
    expect(await text(a, 'other.txt')).toBe('new');
    // A different entry under the same name (deleted and re-added) is not the one we opened.
    await a.rm('other.txt');
    await a.addStream('other.txt', Readable.from([Buffer.from('re-added')]));
    await expect(a.commitStaged(await stage(a, 'y'), 'other.txt', { expect: { id: opened?.id as string, version: 1 } })).rejects.toMatchObject({ code: 'VAULT_CONFLICT' });
    expect(await text(a, 'other.txt')).toBe('re-added');
  });

  it('positive control: without expect, the same race overwrites the other device silently', async () => {
    sb = sandbox();
    const a = (await newVault(sb)).vault;
    vaults.push(a);
    await a.addStream('doc.txt', Readable.from([Buffer.from('v1')]));
    const b = await open(sb, { passphrase: 'correct horse' });
    vaults.push(b);
    await b.commitStaged(await stage(b, 'theirs'), 'doc.txt');
    await a.commitStaged(await stage(a, 'ours'), 'doc.txt');
    expect(await text(a, 'doc.txt')).toBe('ours');
    expect(a.stat('doc.txt')?.version).toBe(3); // "theirs" (version 2) is gone
  });
});
