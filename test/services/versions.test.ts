/**
 * Versions and trash through the app's adapter (core-vault.ts): app paths, save-back keeping the version
 * it replaces (a bad edit can be undone), remove → trash id → restore, and an older version written out.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { X25519Identity } from '../../main/core/keys/x25519';
import { coreVault } from '../../main/services/core-vault';
import { formUI } from '../../main/services/ui';
import type { TransferProgress } from '../../main/services/vault-port';

const quiet = (): TransferProgress => ({
  signal: new AbortController().signal, setTotals: () => undefined, fileStart: () => undefined, progress: () => undefined, fileDone: () => undefined, report: () => undefined,
}) as unknown as TransferProgress;

describe('versions and trash through the adapter', () => {
  it('a save-back keeps the version it replaced; it can be restored or written out; remove goes to the trash and back', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'coffer-adapter-versions-'));
    const core = coreVault(path.join(dir, 'state'));
    const { vault } = await core.create(path.join(dir, 'v'), { name: 'V', passphrase: null, recipients: [{ recipient: X25519Identity.generate().recipient().toString(), label: 'm' }] }, formUI({}, () => undefined));
    const first = await vault.saveEdit('/notes.md', Readable.from([Buffer.from('good')]), { expect: null, mtime: 1, check: () => Promise.resolve(true) });
    expect(first).toMatchObject({ path: '/notes.md', version: 1 });
    // The "bad edit" saved back over it.
    await vault.saveEdit('/notes.md', Readable.from([Buffer.from('bad edit')]), { expect: { id: first?.id as string, version: 1 }, mtime: 2, check: () => Promise.resolve(true) });
    const v = await vault.versions?.('/notes.md');
    expect(v?.retention).toEqual({ days: 30, versions: 10 });
    expect(v?.versions.map((x) => [x.version, x.size, x.current])).toEqual([[2, 8, true], [1, 4, false]]);
    await vault.getVersion?.('/notes.md', 1, path.join(dir, 'v1.md'), quiet());
    expect(readFileSync(path.join(dir, 'v1.md'), 'utf8')).toBe('good');
    expect(await vault.restoreVersion?.('/notes.md', 1)).toEqual({ path: '/notes.md', version: 3 });
    await vault.get('/notes.md', path.join(dir, 'now.md'), quiet());
    expect(readFileSync(path.join(dir, 'now.md'), 'utf8')).toBe('good');

    const trashId = await vault.remove('/notes.md', false);
    expect(trashId).toMatch(/^[0-9a-f]{32}$/);
    expect(await vault.list('/')).toEqual([]);
    const t = await vault.trash?.();
    expect(t?.entries).toMatchObject([{ id: trashId, name: 'notes.md', path: '/notes.md', type: 'file', files: 1, size: 4 }]);
    expect(await vault.restoreFromTrash?.(trashId as string)).toEqual({ path: '/notes.md' });
    expect((await vault.list('/')).map((e) => e.path)).toEqual(['/notes.md']);
    await vault.remove('/notes.md', false);
    expect(await vault.emptyTrash?.()).toMatchObject({ emptied: 1, blobs: 0 });
    expect((await vault.trash?.())?.entries).toEqual([]);
    expect(await vault.collect?.()).toMatchObject({ blobs: 0 }); // within the sync grace
    vault.close();
  });
});
