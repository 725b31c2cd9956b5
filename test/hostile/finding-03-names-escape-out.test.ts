/**
 * Finding 3 (high, M): entry names were not validated when records were read. A co-member sealed
 * records named `../../../x`, or a folder named `..`, and `vault get DIR /folder -o OUT` (and the app's
 * folder export) wrote outside OUT.
 *
 * The attack is performed for real: M seals such records with the vault key (a modified client). Two
 * layers are checked: names are refused when records are read (reported by id, the rest of the vault
 * keeps working), and, independently, every output path is confined under OUT (confinedPath), including
 * against a link planted inside OUT. Positive control: the path the old `get` computed for these entries
 * (path.join(OUT, ...names)) lies outside OUT, and the snapshot used below detects a file written there.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { confinedPath } from '../../main/core/vault';
import { forgeRecord, makeTree, newVault, open, paths, sandbox, snapshot, type Sandbox } from './helpers';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

const hex = (): string => randomBytes(16).toString('hex');

/** A vault with folder `docs/` holding `ok.txt`; M adds `docs/../../../x` (a file) and `docs/..` (a folder with `pwned.txt`). */
async function forged(): Promise<{ badFile: string; badDir: string; badChild: string }> {
  sb = sandbox();
  const { vault } = await newVault(sb, { passphrase: 'pw' });
  makeTree(path.join(sb.base, 'in/docs'), { 'ok.txt': 'fine' });
  await vault.add([path.join(sb.base, 'in/docs')]);
  const docs = vault.stat('docs')?.id as string;
  const ok = vault.list('docs')[0];
  const okBody = [...(vault['core'].index.records as unknown as Map<string, { body: Record<string, unknown> }>).values()].find((n) => n.body.id === ok?.id)?.body as Record<string, unknown>;
  const badFile = hex();
  const badDir = hex();
  const badChild = hex();
  await forgeRecord(vault, { ...okBody, id: badFile, parent: docs, name: '../../../x', version: 1 });
  await forgeRecord(vault, { v: 1, id: badDir, type: 'dir', parent: docs, name: '..', size: 0, mtime: Date.now(), version: 1 });
  await forgeRecord(vault, { ...okBody, id: badChild, parent: badDir, name: 'pwned.txt', version: 1 });
  vault.lock();
  return { badFile, badDir, badChild };
}

describe('finding 3: names that climb out of OUT', () => {
  it('records with such names are reported by id and skipped; get writes only under OUT', async () => {
    const { badFile, badDir } = await forged();
    const out = path.join(sb.base, 'deep/a/b/OUT');
    mkdirSync(out, { recursive: true });
    const before = snapshot(sb.base, [out]);
    const v = await open(sb, { passphrase: 'pw' });
    for (const id of [badFile, badDir]) {
      expect(v.problems).toContainEqual(expect.objectContaining({ code: 'VAULT_TAMPERED', object: `records/${id}.rec`, message: expect.stringMatching(new RegExp(`record ${id} is invalid: the name`)) }));
    }
    // The child of the refused folder is shown at the top level (never dropped), under a safe name.
    expect(paths(v)).toEqual(['docs/', 'docs/ok.txt', 'pwned.txt']);
    const r = await v.get('docs', out);
    expect(r.files).toBe(1);
    expect(readFileSync(path.join(out, 'docs/ok.txt'), 'utf8')).toBe('fine');
    await v.get('pwned.txt', out);
    v.lock();
    expect(snapshot(sb.base, [out, sb.dir, sb.state])).toEqual(new Map([...before].filter(([k]) => !k.startsWith('vault') && !k.startsWith('state'))));
    expect([...snapshot(out).keys()].sort()).toEqual(['docs', 'docs/ok.txt', 'pwned.txt']);
  });

  it('positive control: the old path computation escapes OUT, and the snapshot sees such a write', async () => {
    await forged();
    const out = path.join(sb.base, 'deep/a/b/OUT');
    mkdirSync(out, { recursive: true });
    const before = snapshot(sb.base, [out, sb.dir, sb.state]);
    const oldTarget = path.join(out, 'docs', '../../../x'); // what `get DIR docs -o OUT` joined before
    expect(path.relative(out, oldTarget).startsWith('..')).toBe(true);
    const oldDirTarget = path.join(out, 'docs', '..', 'pwned.txt');
    expect(path.dirname(oldDirTarget)).toBe(out); // the folder `..` collapsed onto OUT's own level
    writeFileSync(oldTarget, 'escaped');
    expect(snapshot(sb.base, [out, sb.dir, sb.state])).not.toEqual(before);
  });
});

describe('confinedPath: every output path stays under the destination', () => {
  it('refuses names that would leave it, whatever else validated them', async () => {
    sb = sandbox();
    const out = path.join(sb.base, 'OUT');
    mkdirSync(out);
    for (const rel of [['..'], ['a', '..', '..', 'x'], ['../x'], ['a/../../x'], ['.'], [''], ['a\\..\\x'], ['x\n'], ['\u001b[2Jx']]) {
      await expect(confinedPath(out, rel, { mkdirs: true })).rejects.toMatchObject({ code: 'VAULT_TAMPERED' });
    }
    expect([...snapshot(sb.base).keys()]).toEqual(['OUT']);
    expect(await confinedPath(out, ['a', 'b.txt'], { mkdirs: true })).toBe(path.join(out, 'a', 'b.txt'));
  });

  it('refuses to write through a link planted inside OUT (checked again after realpath)', async () => {
    sb = sandbox();
    const out = path.join(sb.base, 'OUT');
    const elsewhere = path.join(sb.base, 'elsewhere');
    mkdirSync(out);
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, path.join(out, 'docs'));
    await expect(confinedPath(out, ['docs', 'ok.txt'], { mkdirs: true })).rejects.toMatchObject({ code: 'IO', message: expect.stringMatching(/symbolic link; refusing/) });
    await expect(confinedPath(out, ['docs'], { dir: true })).rejects.toMatchObject({ code: 'IO' });

    // Through get: a vault folder `docs` meets the planted link in OUT; nothing reaches `elsewhere`.
    const { vault } = await newVault(sb, { passphrase: 'pw' });
    makeTree(path.join(sb.base, 'in/docs'), { 'ok.txt': 'fine' });
    await vault.add([path.join(sb.base, 'in/docs')]);
    await expect(vault.get('docs', out)).rejects.toMatchObject({ code: 'IO' });
    vault.lock();
    expect([...snapshot(elsewhere).keys()]).toEqual([]);
  });
});
