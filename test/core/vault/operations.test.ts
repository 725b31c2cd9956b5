import { describe, expect, it, afterEach } from 'vitest';
import { createReadStream, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { Writable } from 'node:stream';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { decryptFile } from '../../../main/core/format/file';
import { nonInteractiveUI } from '../../../main/core/keys/types';
import { openVault, readVaultInfo, requestAccess, SYNC_GRACE_MS } from '../../../main/core/vault';
import { makeTree, member, newVault, open, paths, sandbox, TEST_KDF, type Sandbox } from './helpers';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

describe('vault operations', () => {
  it('init, add a folder recursively, ls, get a file and a folder back', async () => {
    sb = sandbox();
    const { vault, recoveryKey } = await newVault(sb);
    expect(recoveryKey).toMatch(/^([0-9A-Z]{4}-){8}[0-9A-Z]{4}$/);
    const big = randomBytes(200_000);
    makeTree(path.join(sb.base, 'src'), { 'a.txt': 'alpha', 'sub/b.bin': big, 'sub/deeper/c.txt': '', 'empty-dir/.keep': 'k' });
    const events: number[] = [];
    const r = await vault.add([path.join(sb.base, 'src')], 'docs', { onProgress: (p) => events.push(p.bytesDone) });
    expect(r.files).toBe(4);
    expect(r.bytes).toBe(5 + 200_000 + 0 + 1);
    expect(events.length).toBeGreaterThan(0);
    expect(paths(vault)).toEqual(['docs/', 'docs/src/', 'docs/src/a.txt', 'docs/src/empty-dir/', 'docs/src/empty-dir/.keep', 'docs/src/sub/', 'docs/src/sub/b.bin', 'docs/src/sub/deeper/', 'docs/src/sub/deeper/c.txt']);
    const a = vault.stat('docs/src/sub/b.bin');
    expect(a?.size).toBe(200_000);
    // Names never appear in the folder; only random ids do.
    const names = readdirSync(path.join(sb.dir, 'records')).concat(readdirSync(path.join(sb.dir, 'blobs')));
    expect(names.every((n) => /^[0-9a-f]{32}\.(rec|blob)$/.test(n))).toBe(true);
    expect(readFileSync(path.join(sb.dir, 'records', names[0] as string), 'latin1')).not.toContain('docs');
    vault.lock();

    const v2 = await open(sb, { passphrase: 'correct horse' });
    await v2.get('docs/src/sub/b.bin', path.join(sb.base, 'b.out'));
    expect(readFileSync(path.join(sb.base, 'b.out')).equals(big)).toBe(true);
    await v2.get('docs/src', path.join(sb.base, 'tree-out'));
    expect(readFileSync(path.join(sb.base, 'tree-out/a.txt'), 'utf8')).toBe('alpha');
    expect(readFileSync(path.join(sb.base, 'tree-out/sub/deeper/c.txt'), 'utf8')).toBe('');
    await expect(v2.get('docs/src/a.txt', path.join(sb.base, 'b.out'))).rejects.toMatchObject({ code: 'EXISTS' });
    v2.lock();
    await expect(async () => v2.list('')).rejects.toMatchObject({ code: 'VAULT_LOCKED' });
  });

  it('adding a file that exists makes a new version and keeps the old one as a previous version', async () => {
    sb = sandbox();
    const { vault } = await newVault(sb);
    const f = path.join(sb.base, 'note.txt');
    writeFileSync(f, 'one');
    await vault.add([f]);
    writeFileSync(f, 'two!');
    const r = await vault.add([f]);
    expect(r.replaced).toBe(1);
    expect(vault.list('')).toHaveLength(1);
    expect(vault.stat('note.txt')).toMatchObject({ size: 4, version: 2 });
    expect(readdirSync(path.join(sb.dir, 'blobs'))).toHaveLength(2);
    expect(vault.versions('note.txt').map((x) => [x.version, x.size, x.current])).toEqual([[2, 4, true], [1, 3, false]]);
    const chunks: Buffer[] = [];
    await vault.readFile('note.txt', new Writable({ write: (c: Buffer, _e, cb) => { chunks.push(c); cb(); } }));
    expect(Buffer.concat(chunks).toString()).toBe('two!');
    vault.lock();
  });

  it('mkdir, mv (rename and move), rm to the trash, then collection after the sync grace', async () => {
    sb = sandbox();
    const { vault } = await newVault(sb);
    makeTree(path.join(sb.base, 'in'), { 'x.txt': 'x', 'y.txt': 'y' });
    await vault.add([path.join(sb.base, 'in/x.txt'), path.join(sb.base, 'in/y.txt')]);
    await vault.mkdir('a/b');
    await expect(vault.mkdir('a/b')).rejects.toMatchObject({ code: 'EXISTS' });
    await vault.mv('x.txt', 'a/b');
    await vault.mv('y.txt', 'a/renamed.txt');
    expect(paths(vault)).toEqual(['a/', 'a/b/', 'a/b/x.txt', 'a/renamed.txt']);
    await expect(vault.mv('a', 'a/b')).rejects.toMatchObject({ code: 'USAGE' });
    await expect(vault.mv('a/renamed.txt', 'a/b/x.txt')).rejects.toMatchObject({ code: 'EXISTS' });
    await expect(vault.rm('a')).rejects.toMatchObject({ code: 'USAGE' });
    await vault.rm('a/renamed.txt');
    // In the trash: the content stays until the trash is emptied and collected.
    expect(readdirSync(path.join(sb.dir, 'blobs'))).toHaveLength(2);
    const r = await vault.rm('a', { recursive: true });
    expect(r).toMatchObject({ files: 1, folders: 2 });
    expect(paths(vault)).toEqual([]);
    expect(vault.trash().map((t) => [t.path, t.type, t.files])).toEqual([['a', 'dir', 1], ['a/renamed.txt', 'file', 1]]);
    await expect(vault.rm('nothing')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const e = await vault.emptyTrash();
    expect(e).toMatchObject({ emptied: 2, blobs: 0, pending: 2 });
    expect(vault.trash()).toEqual([]);
    expect(readdirSync(path.join(sb.dir, 'blobs'))).toHaveLength(2); // released: kept through the sync grace
    expect((await vault.verify()).ok).toBe(true);
    vault.lock();
    // Reopened after the grace (an injected clock), collection deletes the blobs and the tombstones.
    const later = Date.now() + SYNC_GRACE_MS + 1000;
    const v2 = await openVault(sb.dir, { credentials: { passphrase: 'correct horse' }, stateDir: sb.state, clock: () => later });
    expect(paths(v2)).toEqual([]);
    expect(await v2.collect()).toMatchObject({ blobs: 2, pending: 0 });
    expect(readdirSync(path.join(sb.dir, 'blobs'))).toHaveLength(0);
    expect(readdirSync(path.join(sb.dir, 'records'))).toHaveLength(0);
    expect((await v2.verify()).ok).toBe(true);
    v2.lock();
  });

  it('every slot type opens it: passphrase, recovery key, x25519 member; wrong ones are refused', async () => {
    sb = sandbox();
    const m = await member();
    const { vault, recoveryKey } = await newVault(sb, { passphrase: 'pw', members: [m.recipient] });
    const f = path.join(sb.base, 'f.txt');
    writeFileSync(f, 'secret');
    await vault.add([f]);
    const ms = await vault.members();
    expect(ms.slots.map((s) => s.type).sort()).toEqual(['passphrase', 'recovery', 'x25519']);
    for (const s of ms.slots) {
      expect(s.id).toMatch(/^[0-9a-f]{12}$/);
      expect(s.fingerprint).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){3}$/);
      expect(Date.parse(s.created)).not.toBeNaN();
    }
    vault.lock();
    for (const creds of [{ passphrase: 'pw' }, { recoveryKey }, { recoveryKey: recoveryKey.toLowerCase().replace(/-/g, ' ') }, { identities: [m.id] }]) {
      const v = await open(sb, creds);
      expect(paths(v)).toEqual(['f.txt']);
      v.lock();
    }
    await expect(open(sb, { passphrase: 'nope' })).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    const other = await member();
    await expect(open(sb, { identities: [other.id] })).rejects.toMatchObject({ code: 'NO_IDENTITY' });
    await expect(open(sb, {})).rejects.toMatchObject({ code: 'NO_IDENTITY' });
    const typo = recoveryKey.slice(0, -1) + (recoveryKey.endsWith('0') ? '1' : '0');
    await expect(open(sb, { recoveryKey: typo })).rejects.toMatchObject({ code: 'BAD_RECOVERY_KEY' });
    const info = await readVaultInfo(sb.dir);
    expect(info.name).toBe('Test');
    expect(info.slots).toHaveLength(3);
  });

  it('rotate: new epoch, records carried over (not re-sealed), blobs untouched, every slot still opens it', async () => {
    sb = sandbox();
    const m = await member();
    const { vault, recoveryKey } = await newVault(sb, { passphrase: 'pw', members: [m.recipient] });
    makeTree(path.join(sb.base, 'in'), { 'a': 'a', 'b/c': 'c' });
    await vault.add([path.join(sb.base, 'in')]);
    const blobsBefore = readdirSync(path.join(sb.dir, 'blobs')).map((n) => readFileSync(path.join(sb.dir, 'blobs', n)).toString('hex')).sort();
    const before = vault.epoch;
    const r = await vault.rotate();
    expect(r.records).toBe(4);
    expect(r.slots).toBe(3);
    expect(r.previous).toEqual([before]);
    expect(vault.epoch).toBe(r.epoch);
    const blobsAfter = readdirSync(path.join(sb.dir, 'blobs')).map((n) => readFileSync(path.join(sb.dir, 'blobs', n)).toString('hex')).sort();
    expect(blobsAfter).toEqual(blobsBefore);
    // Records are carried over, not re-sealed (issue 12 part 3): the new epoch's chain reaches their keys.
    for (const n of readdirSync(path.join(sb.dir, 'records'))) expect(readFileSync(path.join(sb.dir, 'records', n), 'latin1')).toContain(before);
    vault.lock();
    for (const creds of [{ passphrase: 'pw' }, { recoveryKey }, { identities: [m.id] }]) {
      const v = await open(sb, creds);
      expect(v.epoch).toBe(r.epoch);
      expect(paths(v)).toEqual(['in/', 'in/a', 'in/b/', 'in/b/c']);
      v.lock();
    }
  });

  it('grant and revoke: a revoked member is refused; without --reencrypt content is untouched, with it all blobs are new', async () => {
    sb = sandbox();
    const { vault } = await newVault(sb, { passphrase: 'pw' });
    const alice = await member();
    const bob = await member();
    const f = path.join(sb.base, 'f.txt');
    writeFileSync(f, 'before');
    await vault.add([f]);
    const sa = await vault.grant(alice.recipient, { label: 'Alice' });
    const sbob = await vault.grant(bob.recipient, { label: 'Bob' });
    await expect(vault.grant(bob.recipient)).rejects.toMatchObject({ code: 'EXISTS' });
    expect((await vault.members()).slots.map((s) => s.label)).toEqual(expect.arrayContaining(['Alice', 'Bob']));
    const av = await open(sb, { identities: [alice.id] });
    expect(paths(av)).toEqual(['f.txt']);
    av.lock();

    const blobs0 = readdirSync(path.join(sb.dir, 'blobs'));
    const r1 = await vault.revoke(sa.id);
    expect(r1.blobsReencrypted).toBe(0);
    expect(readdirSync(path.join(sb.dir, 'blobs'))).toEqual(blobs0);
    await expect(open(sb, { identities: [alice.id] })).rejects.toMatchObject({ code: 'NO_IDENTITY' });
    expect((await vault.members()).slots.map((s) => s.id)).not.toContain(sa.id);

    const r2 = await vault.revoke(sbob.id, { reencrypt: true });
    expect(r2.blobsReencrypted).toBe(1);
    expect(readdirSync(path.join(sb.dir, 'blobs'))).not.toEqual(blobs0);
    await expect(open(sb, { identities: [bob.id] })).rejects.toMatchObject({ code: 'NO_IDENTITY' });
    await expect(vault.revoke('000000000000')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    vault.lock();
    const v = await open(sb, { passphrase: 'pw' });
    expect((await v.verify()).ok).toBe(true);
    await v.get('f.txt', path.join(sb.base, 'f.out'));
    expect(readFileSync(path.join(sb.base, 'f.out'), 'utf8')).toBe('before');
    v.lock();
  });

  it('a revoked key granted again later is a member again', async () => {
    sb = sandbox();
    const { vault } = await newVault(sb, { passphrase: 'pw' });
    const dana = await member();
    const s1 = await vault.grant(dana.recipient, { label: 'Dana' });
    await vault.revoke(s1.id);
    await expect(open(sb, { identities: [dana.id] })).rejects.toMatchObject({ code: 'NO_IDENTITY' });
    const s2 = await vault.grant(dana.recipient, { label: 'Dana again' });
    expect(s2.id).not.toBe(s1.id);
    expect((await vault.members()).slots.find((s) => s.id === s2.id)?.status).toBe('active');
    await vault.rotate();
    vault.lock();
    const dv = await open(sb, { identities: [dana.id] });
    dv.lock();
  });

  it('refuses to revoke the last way in', async () => {
    sb = sandbox();
    const m = await member();
    const { vault } = await newVault(sb, { members: [m.recipient] });
    const ms = await vault.members();
    const rec = ms.slots.find((s) => s.type === 'recovery');
    const mem = ms.slots.find((s) => s.type === 'x25519');
    await vault.revoke(rec?.id as string);
    await expect(vault.revoke(mem?.id as string)).rejects.toMatchObject({ code: 'USAGE' });
    vault.lock();
  });

  it('passwd changes the passphrase without touching content; adds a passphrase slot when opened otherwise', async () => {
    sb = sandbox();
    const { vault, recoveryKey } = await newVault(sb, { passphrase: 'old' });
    const f = path.join(sb.base, 'f.txt');
    writeFileSync(f, 'x');
    await vault.add([f]);
    vault.lock();
    const snapshot = (): string[] => ['records', 'blobs'].flatMap((d) => readdirSync(path.join(sb.dir, d)).map((n) => readFileSync(path.join(sb.dir, d, n)).toString('hex')));
    const before = snapshot();
    const v = await open(sb, { passphrase: 'old' });
    await v.passwd('new', { kdf: TEST_KDF });
    v.lock();
    expect(snapshot()).toEqual(before);
    await expect(open(sb, { passphrase: 'old' })).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    (await open(sb, { passphrase: 'new' })).lock();
    const vr = await open(sb, { recoveryKey });
    await vr.passwd('second', { kdf: TEST_KDF });
    expect((await vr.members()).slots.filter((s) => s.type === 'passphrase')).toHaveLength(2);
    vr.lock();
    (await open(sb, { passphrase: 'second' })).lock();
    (await open(sb, { passphrase: 'new' })).lock();
  });

  it('export: a standalone coffer file whose payload is the blob, byte for byte', async () => {
    sb = sandbox();
    const { vault } = await newVault(sb);
    const content = randomBytes(150_000);
    const f = path.join(sb.base, 'report.pdf');
    writeFileSync(f, content);
    await vault.add([f]);
    const outside = await member();
    const out = path.join(sb.base, 'report.pdf.coffer');
    await vault.export('report.pdf', [outside.id.recipient()], out);
    const blob = readFileSync(path.join(sb.dir, 'blobs', readdirSync(path.join(sb.dir, 'blobs'))[0] as string));
    const exported = readFileSync(out);
    expect(exported.subarray(exported.length - blob.length).equals(blob)).toBe(true);
    const chunks: Buffer[] = [];
    await decryptFile(createReadStream(out), new Writable({ write: (c: Buffer, _e, cb) => { chunks.push(c); cb(); } }), [outside.id], nonInteractiveUI);
    expect(Buffer.concat(chunks).equals(content)).toBe(true);
    await expect(vault.export('report.pdf', [outside.id.recipient()], out)).rejects.toMatchObject({ code: 'EXISTS' });
    vault.lock();
  });

  it('request-access: members shows the request, grant by request id approves it', async () => {
    sb = sandbox();
    const { vault } = await newVault(sb);
    const carol = await member();
    const req = await requestAccess(sb.dir, carol.recipient, 'Carol');
    expect(req.fingerprint).toBe(carol.id.recipient().fingerprint);
    let m = await vault.members();
    expect(m.requests).toEqual([expect.objectContaining({ id: req.id, name: 'Carol', recipient: carol.recipient })]);
    const s = await vault.grant(req.id);
    expect(s.label).toBe('Carol');
    m = await vault.members();
    expect(m.requests).toEqual([]);
    expect(existsSync(path.join(sb.dir, 'requests', `${req.id}.req`))).toBe(false);
    vault.lock();
    const cv = await open(sb, { identities: [carol.id] });
    expect(cv.list('')).toEqual([]);
    cv.lock();
    await expect(requestAccess(sb.dir, 'not-a-recipient', 'X')).rejects.toMatchObject({ code: 'BAD_RECIPIENT' });
  });

  it('cancelling add leaves only complete entries and no stray blobs', async () => {
    sb = sandbox();
    const { vault } = await newVault(sb);
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 40; i++) files[`f${i}`] = randomBytes(600_000);
    makeTree(path.join(sb.base, 'many'), files);
    const ac = new AbortController();
    let seen = 0;
    await expect(vault.add([path.join(sb.base, 'many')], '', {
      signal: ac.signal, concurrency: 1, onProgress: (p) => { if (p.filesDone >= 1 && seen++ === 0) ac.abort(); },
    })).rejects.toMatchObject({ code: 'CANCELLED' });
    vault.lock();
    const v = await open(sb, { passphrase: 'correct horse' });
    const rep = await v.verify();
    expect(rep.ok).toBe(true);
    expect(rep.problems.filter((p) => p.code === 'LEFTOVER')).toEqual([]);
    const listed = v.list('many');
    expect(listed.length).toBeLessThan(40);
    expect(rep.blobs).toBe(listed.length);
    v.lock();
  });
});
