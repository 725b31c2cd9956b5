/**
 * Journey 2: a member key is granted (through an access request), the member opens the vault with
 * it in their own Coffer, then the admin revokes it, and nothing added afterwards reaches the member.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireChromium, tempDir, type AppUnderTest } from './harness';
import { startBrowserApp } from './browser-harness';

const PASS = 'admin passphrase for the team';

describe('journey: grant, open as member, revoke', () => {
  let admin: AppUnderTest;
  let member: AppUnderTest;
  let work: string;

  beforeAll(async () => {
    requireChromium();
    work = tempDir('j2');
    [admin, member] = await Promise.all([startBrowserApp({ name: 'j2-admin' }), startBrowserApp({ name: 'j2-member', theme: 'dark' })]);
  });
  afterAll(async () => {
    await Promise.all([admin?.close(), member?.close()]);
  });

  it('grants a member, who opens the vault; after revocation nothing new reaches the member', async () => {
    const vaultDir = path.join(work, 'Shared', 'Design');
    const src = path.join(work, 'src');
    mkdirSync(src, { recursive: true });
    writeFileSync(path.join(src, 'brief.md'), '# Design brief\n');

    // Admin: a passphrase vault with one file.
    const a = admin.page;
    await a.getByRole('button', { name: 'New vault…' }).click();
    await admin.pick('folder', path.dirname(vaultDir), () => a.getByRole('button', { name: 'Choose…' }).click());
    await a.getByLabel('Folder', { exact: true }).fill(vaultDir);
    await a.getByLabel('Vault name').fill('Design');
    await a.getByRole('button', { name: 'Next' }).click();
    await a.getByLabel('Passphrase', { exact: true }).fill(PASS);
    await a.getByLabel('Passphrase again').fill(PASS);
    await a.getByRole('button', { name: 'Next' }).click();
    await a.getByRole('button', { name: 'Next' }).click();
    await a.getByRole('button', { name: 'Create vault' }).click();
    await a.getByRole('heading', { name: 'This vault is empty' }).waitFor();
    await admin.drop([path.join(src, 'brief.md')]);
    await a.getByRole('table', { name: 'Files' }).getByRole('row', { name: 'brief.md' }).waitFor();

    // Member: creates a member key and asks for access from the shared folder.
    const m = member.page;
    await m.getByRole('button', { name: 'Member keys' }).click();
    await m.getByRole('heading', { name: 'No member key yet' }).waitFor();
    await m.getByLabel('Key name').fill('Bob laptop');
    await m.getByRole('button', { name: 'Create', exact: true }).click();
    const keys = m.getByRole('table', { name: 'Member keys' });
    await keys.getByRole('cell', { name: 'Bob laptop', exact: true }).waitFor();
    const bob = member.services.identities.list()[0];
    expect(bob?.recipient).toMatch(/^coffer1/);
    await member.pick('folder', vaultDir, () => m.getByRole('button', { name: 'Choose…' }).click());
    await m.getByLabel('Your name').fill('Bob');
    await m.getByRole('button', { name: 'Request access' }).click();
    await m.getByRole('status').filter({ hasText: 'Request left' }).waitFor();

    // Admin: sees the pending request with Bob's fingerprint and grants it.
    await a.getByRole('tab', { name: /Members & sharing/ }).click();
    const pending = a.getByRole('table', { name: 'Pending access requests' });
    await pending.getByRole('cell', { name: 'Bob', exact: true }).waitFor();
    await expect(pending.getByRole('cell', { name: bob?.fingerprint ?? '?', exact: true }).isVisible()).resolves.toBe(true);
    await pending.getByRole('button', { name: 'Grant' }).click();
    await a.getByRole('status').filter({ hasText: 'Granted Bob' }).waitFor();
    const slots = a.getByRole('table', { name: 'Key slots' });
    await slots.getByRole('row', { name: 'Slot Bob' }).waitFor();
    await admin.screenshot('05-members-and-sharing', 'members-and-sharing.png');

    // Member: opens the vault folder and unlocks with the member key: no passphrase.
    await m.getByRole('button', { name: 'Vaults', exact: true }).click();
    await member.pick('folder', vaultDir, () => m.getByRole('button', { name: 'Open existing vault…' }).click());
    await m.getByRole('heading', { name: 'Unlock “Design”' }).waitFor();
    await m.getByRole('radio', { name: /My member key “Bob laptop”/ }).check();
    await m.getByRole('button', { name: 'Unlock' }).click();
    await m.getByRole('table', { name: 'Files' }).getByRole('row', { name: 'brief.md' }).waitFor();
    await member.screenshot('06-member-unlocked-dark');

    // Admin: revokes Bob (rotate only) with the explanation on screen.
    await slots.getByRole('button', { name: 'Revoke Bob' }).click();
    const form = a.getByRole('form', { name: 'Revoke slot' });
    await expect(form.textContent()).resolves.toContain('rotates');
    await expect(form.textContent()).resolves.toContain('re-encrypt');
    await admin.screenshot('07-revoke-explained');
    await form.getByRole('button', { name: 'Revoke' }).click();
    await a.getByRole('status').filter({ hasText: 'Revoked Bob' }).waitFor();

    // Admin adds a file after the revocation. Member: an epoch it cannot open is not by itself proof
    // of revocation (issue 9 finding 11: a planted one must not lock members out), so the open
    // session stays, but nothing added after the revocation ever reaches it.
    mkdirSync(path.join(src, 'later'), { recursive: true });
    writeFileSync(path.join(src, 'later', 'after-revocation.md'), 'not for Bob\n');
    await a.getByRole('tab', { name: 'Files' }).click();
    await admin.drop([path.join(src, 'later', 'after-revocation.md')]);
    await a.getByRole('table', { name: 'Files' }).getByRole('row', { name: 'after-revocation.md' }).waitFor();
    const bobVault = member.services.vaults.list().then((l) => l[0]?.id as string);
    const vid = await bobVault;
    await member.services.vaults.checkVault(vid);
    const seen = member.services.vaults.isUnlocked(vid) ? (await member.services.vaults.listFiles(vid, '/')).entries.map((e) => e.name) : [];
    expect(seen).not.toContain('after-revocation.md');
    await member.screenshot('08-member-after-revocation');
    expect(admin.pageErrors).toEqual([]);
    expect(member.pageErrors).toEqual([]);
  });
});
