import { describe, expect, it, afterEach } from 'vitest';
import { cpSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { makeTree, member, newVault, open, paths, sandbox, type Sandbox } from './helpers';
import { initVault } from '../../../main/core/vault';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

const recordFile = (dir: string, id: string): string => path.join(dir, 'records', `${id}.rec`);

async function twoFiles(): Promise<{ a: string; b: string }> {
  const { vault } = await newVault(sb, { passphrase: 'pw' });
  makeTree(path.join(sb.base, 'in'), { 'a.txt': 'AAAA', 'b.txt': 'BBBB' });
  await vault.add([path.join(sb.base, 'in/a.txt'), path.join(sb.base, 'in/b.txt')]);
  const a = vault.stat('a.txt')?.id as string;
  const b = vault.stat('b.txt')?.id as string;
  vault.lock();
  return { a, b };
}

describe('vault integrity', () => {
  it('an altered record is rejected by ls, get and verify', async () => {
    sb = sandbox();
    const { a } = await twoFiles();
    const f = recordFile(sb.dir, a);
    const text = readFileSync(f, 'latin1');
    const i = text.length - 10;
    writeFileSync(f, text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1), 'latin1');
    const v = await open(sb, { passphrase: 'pw' });
    expect(paths(v)).toEqual(['b.txt']);
    expect(v.problems).toContainEqual(expect.objectContaining({ code: 'VAULT_TAMPERED', object: `records/${a}.rec`, message: expect.stringMatching(/failed authentication/) }));
    await expect(v.get('a.txt', path.join(sb.base, 'x'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const rep = await v.verify();
    expect(rep.ok).toBe(false);
    v.lock();
  });

  it('a record swapped onto another entry is rejected (entry id is bound)', async () => {
    sb = sandbox();
    const { a, b } = await twoFiles();
    copyFileSync(recordFile(sb.dir, a), recordFile(sb.dir, b));
    const v = await open(sb, { passphrase: 'pw' });
    expect(paths(v)).toEqual(['a.txt']);
    expect(v.problems).toContainEqual(expect.objectContaining({ code: 'VAULT_TAMPERED', object: `records/${b}.rec` }));
    v.lock();
  });

  it('a record or descriptor from another vault is rejected (vault id is bound)', async () => {
    sb = sandbox();
    await twoFiles();
    const other = path.join(sb.base, 'other');
    const o = await initVault(other, { passphrase: 'pw', kdf: { opsLimit: 1, memKiB: 8 }, stateDir: sb.state });
    makeTree(path.join(sb.base, 'in2'), { 'z.txt': 'Z' });
    await o.vault.add([path.join(sb.base, 'in2/z.txt')]);
    const zid = o.vault.stat('z.txt')?.id as string;
    o.vault.lock();
    copyFileSync(recordFile(other, zid), recordFile(sb.dir, zid));
    const v = await open(sb, { passphrase: 'pw' });
    expect(paths(v)).toEqual(['a.txt', 'b.txt']);
    expect(v.problems).toContainEqual(expect.objectContaining({ code: 'VAULT_TAMPERED', object: `records/${zid}.rec` }));
    v.lock();
    // An epoch file from the other vault does not authenticate here.
    const oe = readdirSync(path.join(other, 'epochs'))[0] as string;
    copyFileSync(path.join(other, 'epochs', oe), path.join(sb.dir, 'epochs', oe));
    const v2 = await open(sb, { passphrase: 'pw' });
    expect(v2.problems).toContainEqual(expect.objectContaining({ code: 'VAULT_TAMPERED', object: `epochs/${oe}` }));
    v2.lock();
    // Swapping the whole descriptor is caught by the epoch's descriptor hash.
    copyFileSync(path.join(other, 'coffer-vault.json'), path.join(sb.dir, 'coffer-vault.json'));
    await expect(open(sb, { passphrase: 'pw' })).rejects.toMatchObject({ code: expect.stringMatching(/VAULT_TAMPERED|NO_IDENTITY/) });
  });

  it('an edited descriptor (vault name) or epoch is rejected', async () => {
    sb = sandbox();
    await twoFiles();
    const d = path.join(sb.dir, 'coffer-vault.json');
    const orig = readFileSync(d, 'utf8');
    writeFileSync(d, orig.replace('"Test"', '"Evil"'));
    await expect(open(sb, { passphrase: 'pw' })).rejects.toMatchObject({ code: 'VAULT_TAMPERED' });
    writeFileSync(d, orig);
    const e = path.join(sb.dir, 'epochs', readdirSync(path.join(sb.dir, 'epochs'))[0] as string);
    writeFileSync(e, readFileSync(e, 'utf8').replace('"revoked":[]', '"revoked":["aaaaaaaaaaaa"]'));
    await expect(open(sb, { passphrase: 'pw' })).rejects.toMatchObject({ code: 'VAULT_TAMPERED', message: expect.stringMatching(/failed authentication/) });
  });

  it('a replayed old record (after mv) and a resurrected deleted record are rejected', async () => {
    sb = sandbox();
    const { a, b } = await twoFiles();
    const oldA = readFileSync(recordFile(sb.dir, a));
    const oldB = readFileSync(recordFile(sb.dir, b));
    const v = await open(sb, { passphrase: 'pw' });
    await v.mv('a.txt', 'moved.txt');
    await v.rm('b.txt');
    v.lock();
    writeFileSync(recordFile(sb.dir, a), oldA);
    writeFileSync(recordFile(sb.dir, b), oldB);
    const v2 = await open(sb, { passphrase: 'pw' });
    expect(paths(v2)).toEqual([]);
    expect(v2.problems).toContainEqual(expect.objectContaining({ code: 'VAULT_TAMPERED', object: `records/${a}.rec`, message: expect.stringMatching(/replayed/) }));
    expect(v2.problems).toContainEqual(expect.objectContaining({ code: 'VAULT_TAMPERED', object: `records/${b}.rec`, message: expect.stringMatching(/replayed/) }));
    v2.lock();
  });

  it('a rollback of the whole folder to an older epoch is refused', async () => {
    sb = sandbox();
    await twoFiles();
    const snap = path.join(sb.base, 'snapshot');
    cpSync(sb.dir, snap, { recursive: true });
    const v = await open(sb, { passphrase: 'pw' });
    await v.rotate();
    v.lock();
    rmSync(sb.dir, { recursive: true });
    cpSync(snap, sb.dir, { recursive: true });
    await expect(open(sb, { passphrase: 'pw' })).rejects.toMatchObject({ code: 'VAULT_ROLLBACK' });
    // Deleting only the newest epoch file is the same rollback.
    const fresh = sandbox();
    try {
      const { vault } = await newVault(fresh, { passphrase: 'pw' });
      const r = await vault.rotate();
      vault.lock();
      rmSync(path.join(fresh.dir, 'epochs', `${r.epoch}.epoch`));
      await expect(open(fresh, { passphrase: 'pw' })).rejects.toMatchObject({ code: 'VAULT_ROLLBACK' });
    } finally {
      fresh.cleanup();
    }
  });

  it('an altered or forged slot is not a member and gets no key at the next rotation', async () => {
    sb = sandbox();
    const alice = await member();
    const mallory = await member();
    const { vault } = await newVault(sb, { passphrase: 'pw', members: [alice.recipient] });
    const aliceSlot = (await vault.members()).slots.find((s) => s.type === 'x25519')?.id as string;
    vault.lock();
    const sf = path.join(sb.dir, 'slots', `${aliceSlot}.slot`);
    writeFileSync(sf, readFileSync(sf, 'utf8').replace(alice.recipient, mallory.recipient));
    // A brand-new slot made by someone without the vault key.
    writeFileSync(path.join(sb.dir, 'slots', 'abcdefabcdef.slot'), `${JSON.stringify({ v: 1, vault: 'x', slot: 'abcdefabcdef', type: 'x25519', label: 'evil', fingerprint: '', created: '', epoch: '00000001-00000000', recipient: mallory.recipient })}\nmac: ${'A'.repeat(43)}\n`);
    const v = await open(sb, { passphrase: 'pw' });
    const ms = await v.members();
    expect(ms.slots.map((s) => s.type).sort()).toEqual(['passphrase', 'recovery']);
    expect(v.problems.filter((p) => p.code === 'VAULT_TAMPERED').map((p) => p.object).sort()).toEqual([`slots/${aliceSlot}.slot`, 'slots/abcdefabcdef.slot'].sort());
    const r = await v.rotate();
    v.lock();
    expect(readdirSync(path.join(sb.dir, 'keys')).filter((n) => n.includes(r.epoch))).toHaveLength(2);
    await expect(open(sb, { identities: [mallory.id] })).rejects.toMatchObject({ code: 'NO_IDENTITY' });
  });

  it('a member revoked while holding an open vault cannot read what is added afterwards', async () => {
    sb = sandbox();
    const alice = await member();
    const { vault } = await newVault(sb, { passphrase: 'pw', members: [alice.recipient] });
    const av = await open(sb, { identities: [alice.id] });
    const slot = (await vault.members()).slots.find((s) => s.type === 'x25519')?.id as string;
    await vault.revoke(slot);
    makeTree(path.join(sb.base, 'in'), { 'after.txt': 'new secret' });
    await vault.add([path.join(sb.base, 'in/after.txt')]);
    vault.lock();
    await expect(av.load()).rejects.toMatchObject({ code: 'NO_IDENTITY' });
    av.lock();
  });
});
