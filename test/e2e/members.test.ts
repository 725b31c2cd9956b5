/**
 * Journey 2: a member key is granted (through an access request), the member opens the vault with
 * it in their own Coffer, then the admin revokes it and the member is refused.
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

  it('grants a member, who opens the vault; after revocation the member is refused', async () => {
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

    // Member: their open session notices and locks; unlocking again is refused.
    await m.getByRole('status').filter({ hasText: 'no longer one of its members' }).waitFor({ timeout: 20_000 });
    await m.getByRole('radio', { name: /My member key “Bob laptop”/ }).check();
    await m.getByRole('button', { name: 'Unlock' }).click();
    const refused = m.getByRole('alert');
    await refused.waitFor();
    await expect(refused.textContent()).resolves.toMatch(/none of the keys|not among its members/i);
    await member.screenshot('08-member-refused', 'member-refused-dark.png');
    expect(admin.pageErrors).toEqual([]);
    expect(member.pageErrors).toEqual([]);
  });
});
