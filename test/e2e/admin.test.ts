/**
 * Issue 11, item 5: admin tasks in the app, through the real preload, handlers and services: change
 * the passphrase (then unlock with the new one), a health check that previews what repair removes
 * before removing it, and "Request access" on the unlock screen of a vault we cannot open.
 * (Adding a hardware key or a Transit slot to an existing vault, with a SoftHSM2 token and the
 * Transit test server, is in admin-slots.test.ts.)
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireChromium, startApp, tempDir, type AppUnderTest } from './harness';
import { createFirstVault } from './journeys';

const OLD = 'first admin passphrase here';
const NEW = 'second admin passphrase now';

describe('issue 11 item 5: admin tasks in the app', () => {
  let app: AppUnderTest;
  let work: string;

  beforeAll(async () => {
    requireChromium();
    work = tempDir('admin');
    app = await startApp({ name: 'admin' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('changes the passphrase, checks and repairs with a preview, and requests access from the unlock screen', async () => {
    const { page } = app;
    const vaultDir = path.join(work, 'Admin vault');
    await createFirstVault(app, { pickIn: work, dir: vaultDir, name: 'Admin', passphrase: OLD });

    // Change the passphrase.
    await page.getByRole('tab', { name: 'Keys & health' }).click();
    await page.getByLabel('New passphrase', { exact: true }).fill(NEW);
    await page.getByLabel('New passphrase again').fill(NEW);
    await page.getByRole('button', { name: 'Change passphrase' }).click();
    await page.getByRole('status').filter({ hasText: 'Passphrase changed' }).waitFor({ timeout: 30_000 });

    // Health check: clean, then a leftover of a dead writer is previewed, then repaired.
    await page.getByRole('button', { name: 'Check now' }).click();
    await page.getByRole('status').filter({ hasText: 'All good' }).waitFor({ timeout: 30_000 });
    const leftover = path.join(vaultDir, 'tmp', `${hostname().replace(/[^A-Za-z0-9.-]/g, '_') || 'host'}~999999~0123456789abcdef.tmp`);
    writeFileSync(leftover, 'half-written');
    await page.getByRole('button', { name: 'Check now' }).click();
    const preview = page.getByRole('region', { name: 'Repair preview' });
    await preview.waitFor({ timeout: 30_000 });
    expect(existsSync(leftover)).toBe(true); // the preview removes nothing
    await preview.scrollIntoViewIfNeeded();
    await app.screenshot('a01-repair-preview', 'health-check.png');
    await preview.getByRole('button', { name: /^Repair: remove 1/ }).click();
    await page.getByRole('status').filter({ hasText: 'Removed 1 leftover' }).waitFor({ timeout: 30_000 });
    expect(existsSync(leftover)).toBe(false);

    // The new passphrase unlocks; the old one no longer does.
    await page.getByRole('button', { name: 'Lock', exact: true }).click();
    await page.getByLabel('Passphrase', { exact: true }).fill(OLD);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 30_000 }).toMatch(/passphrase/i);
    await page.getByLabel('Passphrase', { exact: true }).fill(NEW);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('heading', { name: 'This vault is empty' }).waitFor({ timeout: 30_000 });

    // Request access from the unlock screen with a member key that is not a member.
    await page.getByRole('button', { name: 'Member keys' }).click();
    await page.getByLabel('Key name').fill('Laptop');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('table', { name: 'Member keys' }).getByRole('cell', { name: 'Laptop', exact: true }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: /Admin/ }).click();
    await page.getByRole('button', { name: 'Lock', exact: true }).click();
    await page.getByRole('button', { name: 'Request access' }).click();
    const form = page.getByRole('form', { name: 'Request access' });
    await form.getByLabel('Your name, as members will see it').fill('Sam');
    await form.getByRole('button', { name: 'Send request' }).click();
    await form.getByRole('status').filter({ hasText: 'Request left' }).waitFor();
    expect(readdirSync(path.join(vaultDir, 'requests')).filter((n) => n.endsWith('.req'))).toHaveLength(1);
    await app.screenshot('a02-request-access');
    expect(app.pageErrors).toEqual([]);
  });
});
