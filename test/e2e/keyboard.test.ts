/**
 * Keyboard only: from a fresh window, Tab reaches the main actions and Enter works them; the create
 * wizard can be completed without a mouse, and focus is visible.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireChromium, tempDir, type AppUnderTest } from './harness';
import { startBrowserApp } from './browser-harness';

describe('keyboard', () => {
  let app: AppUnderTest;
  beforeAll(async () => {
    requireChromium();
    app = await startBrowserApp({ name: 'kbd' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('creates a vault with the keyboard alone', async () => {
    const { page } = app;
    const focusedName = () => page.evaluate(() => (document.activeElement as HTMLElement | null)?.textContent?.trim() ?? '');
    // Tab through the sidebar to the empty state's main action.
    let found = false;
    for (let i = 0; i < 20 && !found; i++) {
      await page.keyboard.press('Tab');
      found = (await focusedName()) === 'Create your first vault';
    }
    expect(found).toBe(true);
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle);
    expect(outline).not.toBe('none');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'New vault' }).waitFor();
    // The folder field has focus; Choose… picks a folder (the only way main accepts one), then the
    // new vault's folder name is typed after it. Enter submits each step.
    const parent = tempDir('kbd');
    await page.keyboard.press('Tab'); // Choose…
    await app.pick('folder', parent, () => page.keyboard.press('Enter'));
    await expect.poll(() => page.getByLabel('Folder', { exact: true }).inputValue()).toBe(parent);
    await expect.poll(focusedName).toBe('Choose…');
    await page.keyboard.press('Shift+Tab'); // back to the folder field
    await page.keyboard.press('End');
    await page.keyboard.type(`${path.sep}v`);
    await page.keyboard.press('Tab'); // Choose…
    await page.keyboard.press('Tab'); // Vault name
    await page.keyboard.type('Keyboard');
    await page.keyboard.press('Enter');
    await page.getByLabel('Passphrase', { exact: true }).waitFor();
    // Focus starts on the "Unlock with a passphrase" checkbox; Tab goes to the field.
    await page.keyboard.press('Tab');
    await page.keyboard.type('typed without a mouse');
    await page.keyboard.press('Tab');
    await page.keyboard.type('typed without a mouse');
    await page.keyboard.press('Enter');
    await page.getByLabel('Save the recovery key to').waitFor();
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Create vault' }).waitFor();
    await expect.poll(focusedName).toBe('Create vault');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'This vault is empty' }).waitFor();
    expect(app.pageErrors).toEqual([]);
  });
});
