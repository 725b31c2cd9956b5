/**
 * Versions and trash in the window (issue 10 part 3; issue 11 item 7): a replaced file's "Versions…"
 * (list, export an older version through the Save dialog, restore), delete through the trash with
 * Undo in the status area, and the Trash tab (restore, empty with confirmation). Real services on real
 * temp folders behind the real preload API; screenshots in docs/screenshots/ (COFFER_UPDATE_SCREENSHOTS=1).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireChromium, startApp, tempDir, type AppUnderTest } from './harness';
import { createFirstVault } from './journeys';

const PASS = 'versions e2e passphrase';
const V1 = 'first draft: the numbers everyone agreed on';
const V2 = 'second draft, with a mistake';

describe('versions and trash in the app', () => {
  let app: AppUnderTest;
  let work: string;

  beforeAll(async () => {
    requireChromium();
    work = tempDir('versions');
    app = await startApp({ name: 'versions' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('Versions…: list, export an older version, restore it; delete with Undo; Trash: restore and empty', async () => {
    const { page } = app;
    const vaultDir = path.join(work, 'Budget');
    const src = path.join(work, 'src');
    mkdirSync(src, { recursive: true });

    await createFirstVault(app, { pickIn: work, dir: vaultDir, name: 'Budget', passphrase: PASS });

    // report.txt, then a second version of it (added again: replaced, the first kept).
    const file = path.join(src, 'report.txt');
    writeFileSync(file, V1);
    await app.drop([file]);
    const table = page.getByRole('table', { name: 'Files' });
    await table.getByRole('row', { name: 'report.txt' }).waitFor();
    writeFileSync(file, V2);
    await app.drop([file]);
    await expect.poll(() => app.services.jobs.list().filter((j) => j.state === 'done').length).toBe(2);

    // Versions…
    await table.getByRole('button', { name: 'More actions for report.txt' }).click();
    await page.getByRole('button', { name: 'Versions of report.txt' }).click();
    const panel = page.getByRole('dialog', { name: 'Versions of report.txt' });
    const versions = panel.getByRole('table', { name: 'Versions of report.txt' });
    await versions.getByRole('row', { name: 'Version 1' }).waitFor();
    await expect.poll(() => versions.getByRole('row').count()).toBe(3); // header, v2 (current), v1
    await expect(versions.getByRole('row', { name: 'Version 2' }).textContent()).resolves.toContain('current');
    await expect(panel.textContent()).resolves.toContain('the newest 10, for 30 days');
    await app.screenshot('versions-panel', 'versions.png');

    // Export the older version to a file the person picks: its content, nothing else.
    const out = path.join(work, 'exported', 'report v1.txt');
    mkdirSync(path.dirname(out), { recursive: true });
    await app.pick('save', out, () => panel.getByRole('button', { name: 'Export version 1' }).click());
    await expect.poll(() => existsSync(out) && readFileSync(out, 'utf8')).toBe(V1);

    // Restore version 1: it is current again, and the content it replaced is kept.
    await panel.getByRole('button', { name: 'Restore version 1' }).click();
    await panel.getByRole('status').filter({ hasText: 'Version 1 of report.txt is current again' }).waitFor();
    await expect.poll(() => versions.getByRole('row').count()).toBe(4);
    await expect.poll(async () => (await table.getByRole('row', { name: 'report.txt' }).textContent()) ?? '').toContain(`${V1.length} B`);
    await panel.getByRole('button', { name: 'Close' }).click();

    // Delete goes to the trash, with Undo right there.
    await table.getByRole('button', { name: 'More actions for report.txt' }).click();
    await page.getByRole('button', { name: 'Delete report.txt' }).click();
    const form = page.getByRole('form', { name: 'Edit' });
    await expect.poll(() => form.textContent()).toContain('Move report.txt to the trash?');
    await form.getByRole('button', { name: 'Delete', exact: true }).click();
    const undo = page.getByRole('status').filter({ hasText: 'report.txt was moved to the trash.' });
    await undo.waitFor();
    await page.getByRole('heading', { name: 'This vault is empty' }).waitFor();
    await app.screenshot('delete-undo', 'delete-undo.png');
    await undo.getByRole('button', { name: 'Undo' }).click();
    await table.getByRole('row', { name: 'report.txt' }).waitFor();
    await expect(undo.count()).resolves.toBe(0);

    // Delete again; the Trash tab lists it and restores it.
    await table.getByRole('button', { name: 'More actions for report.txt' }).click();
    await page.getByRole('button', { name: 'Delete report.txt' }).click();
    await form.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByRole('heading', { name: 'This vault is empty' }).waitFor();
    await page.getByRole('tab', { name: 'Trash' }).click();
    const trash = page.getByRole('table', { name: 'Trash' });
    await trash.getByRole('row', { name: 'report.txt' }).waitFor();
    await expect(page.getByRole('region', { name: 'Trash' }).textContent()).resolves.toContain('stay here for 30 days');
    await app.screenshot('trash', 'trash.png');
    await trash.getByRole('button', { name: 'Restore report.txt' }).click();
    await page.getByRole('status').filter({ hasText: 'report.txt was restored to /report.txt.' }).waitFor();
    await page.getByText('The trash is empty.').waitFor();
    await page.getByRole('tab', { name: 'Files' }).click();
    await table.getByRole('row', { name: 'report.txt' }).waitFor();

    // Empty the trash: asked first, then gone for good (its blobs are released for collection).
    await table.getByRole('button', { name: 'More actions for report.txt' }).click();
    await page.getByRole('button', { name: 'Delete report.txt' }).click();
    await form.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByRole('heading', { name: 'This vault is empty' }).waitFor();
    await page.getByRole('tab', { name: 'Trash' }).click();
    await page.getByRole('button', { name: 'Empty trash…' }).click();
    const confirm = page.getByRole('alertdialog', { name: 'Empty the trash' });
    await expect(confirm.textContent()).resolves.toContain('Remove 1 item from the trash for good?');
    await app.screenshot('trash-empty-confirm', 'trash-empty-confirm.png');
    await confirm.getByRole('button', { name: 'Empty trash' }).click();
    await page.getByRole('status').filter({ hasText: '1 item was removed for good.' }).waitFor();
    await page.getByText('The trash is empty.').waitFor();

    // Retention is a vault setting: changed here, it is what the core (and every member) applies.
    const retention = page.getByRole('form', { name: 'How long versions and deleted items are kept' });
    await retention.getByLabel('Previous versions kept per file').fill('3');
    await retention.getByLabel('Days kept').fill('90');
    await retention.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'now keeps 3 previous versions per file, and versions and deleted items for 90 days' }).waitFor();
    await expect(page.getByRole('region', { name: 'Trash' }).textContent()).resolves.toContain('stay here for 90 days');
    const { openVault } = await import('../../main/core/vault');
    const check = await openVault(vaultDir, { credentials: { passphrase: PASS }, stateDir: path.join(work, 'check-state') });
    expect(check.retention).toEqual({ days: 90, versions: 3 });
    check.lock();
    await app.screenshot('trash-retention');

    // No file content crossed IPC: the older version left the vault only into the file picked.
    const all = app.messages.map((m) => m.json).join('\n');
    expect(all).not.toContain(V1);
    expect(all).not.toContain(V2);
    expect(app.pageErrors).toEqual([]);
  });
});
