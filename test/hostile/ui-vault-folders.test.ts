/**
 * Issue 9, finding 15 (attacker UI): a compromised page names vault folders itself, without the
 * person picking them: `vaults:create` in a folder of its choosing (say ~/.config/autostart or a
 * folder it wants filled with a new vault), `vaults:open` of a hostile folder, and
 * `members:requestAccess` into any folder. And it asks main to open arbitrary URLs.
 *
 * Proof that this test catches the old code: with main/services/vaults.ts and dialogs.ts of
 * commit e93c914 every one of the calls below succeeds (create writes coffer-vault.json into the
 * page's folder; the test fails on the first `expect(...ok).toBe(false)`). The positive controls
 * show the same calls work when the person picked the folder in the dialog.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAllowedExternalUrl } from '../../main/services/links';
import { hostilePage, type HostilePage } from './helpers-ui';

const create = (dir: string) => ({ dir, name: 'V', passphrase: 'correct horse battery', identityIds: [], recipients: [], hwkeyIds: [], transit: false, recoveryKeyPath: null });

describe('hostile UI: vault folders come only from the folder dialog or the known-vaults list (finding 15)', () => {
  let app: HostilePage;
  afterEach(async () => app?.close());

  it('refuses create, open and request-access in folders the person did not pick', async () => {
    app = await hostilePage();
    const target = path.join(app.dir, 'home', '.config', 'autostart');
    mkdirSync(target, { recursive: true });
    const r1 = await app.call('vaults:create', create(target));
    expect(r1.ok).toBe(false);
    expect(!r1.ok && r1.error.message).toMatch(/Choose…/);
    expect(readdirSync(target)).toEqual([]);

    // Positive control: the person picks a parent folder; a vault in it (or a new folder right inside it) works.
    const parent = path.join(app.dir, 'Dropbox');
    mkdirSync(parent);
    app.picks.folders.push(parent);
    expect(await app.call('dialog:pickFolder', { title: 'Folder for the new vault' })).toEqual({ ok: true, value: { path: parent } });
    const made = await app.call('vaults:create', create(path.join(parent, 'Team vault')));
    expect(made.ok).toBe(true);
    const vaultDir = path.join(parent, 'Team vault');
    // The approval is used up: the page cannot create a second vault there on its own.
    expect((await app.call('vaults:create', create(path.join(parent, 'Second')))).ok).toBe(false);
    expect(existsSync(path.join(parent, 'Second'))).toBe(false);
    // A picked folder approves itself and its direct children only, not deeper paths.
    app.picks.folders.push(parent);
    await app.call('dialog:pickFolder', { title: 'x' });
    expect((await app.call('vaults:create', create(path.join(parent, 'a', 'b')))).ok).toBe(false);

    // vaults:open: an unpicked folder is refused; a known vault is fine.
    const other = path.join(app.dir, 'elsewhere');
    mkdirSync(other);
    const r2 = await app.call('vaults:open', { dir: other });
    expect(r2.ok).toBe(false);
    expect(!r2.ok && r2.error.message).toMatch(/Choose…/);
    expect((await app.call('vaults:open', { dir: vaultDir })).ok).toBe(true); // in the known-vaults list

    // members:requestAccess: leaves nothing in an unpicked folder.
    const me = await app.call('identities:create', { label: 'me' });
    const identityId = (me as { value: { id: string } }).value.id;
    const r3 = await app.call('members:requestAccess', { dir: other, identityId, name: 'Mallory' });
    expect(r3.ok).toBe(false);
    expect(readdirSync(other)).toEqual([]);
    // Positive control: into a known vault folder it works.
    expect((await app.call('members:requestAccess', { dir: vaultDir, identityId, name: 'Me' })).ok).toBe(true);
  });

  it('opens only documentation URLs in the system browser', () => {
    expect(isAllowedExternalUrl('https://github.com/coffer-app/coffer')).toBe(true);
    expect(isAllowedExternalUrl('https://github.com/coffer-app/coffer/blob/main/docs/SECURITY.md')).toBe(true);
    for (const bad of [
      'https://evil.example/',
      'https://github.com/coffer-app/coffer-evil',
      'https://github.com/attacker/coffer',
      'https://github.com.evil.example/coffer-app/coffer',
      'https://user:pw@github.com/coffer-app/coffer',
      'http://github.com/coffer-app/coffer',
      'file:///etc/passwd',
      'ms-settings:',
      'javascript:alert(1)',
      'not a url',
    ]) expect(isAllowedExternalUrl(bad), bad).toBe(false);
  });
});
