/**
 * Journey 3: detect a SoftHSM2 token in the hardware-key screen, enroll it (a P-256 key generated
 * on the token), make a vault whose only slot is that key, then unlock it with the PIN: a wrong
 * PIN first (clear error), then the right one.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSoftHsm, type SoftHsm } from '../fixtures/softhsm';
import { requireChromium, tempDir, type AppUnderTest } from './harness';
import { startBrowserApp } from './browser-harness';

describe('journey: hardware key (SoftHSM2)', () => {
  let app: AppUnderTest;
  let hsm: SoftHsm;
  let work: string;

  beforeAll(async () => {
    requireChromium();
    hsm = createSoftHsm(); // throws with the reason if SoftHSM2 is not installed
    hsm.initToken('Coffer test token', '123456', '12345678');
    work = tempDir('j3');
    app = await startBrowserApp({ name: 'j3' });
  });
  afterAll(async () => {
    await app?.close();
    hsm?.destroy();
  });

  it('enrolls a token and unlocks a vault with its PIN', async () => {
    const { page } = app;
    await page.getByRole('button', { name: 'Hardware keys' }).click();
    await page.getByRole('heading', { name: 'No hardware key enrolled' }).waitFor();
    await app.pick('module', hsm.modulePath, () => page.getByRole('button', { name: 'Choose…' }).click());
    await expect.poll(() => page.getByLabel('PKCS#11 module').inputValue()).toMatch(/libsofthsm2\.so$/);
    await page.getByRole('button', { name: 'Detect' }).click();
    await page.getByLabel('Token Coffer test token').waitFor();

    await page.getByLabel('Name', { exact: true }).fill('Blue key');
    await page.getByLabel('PIN', { exact: true }).fill('123456');
    await page.getByRole('button', { name: 'Enroll' }).click();
    await page.getByRole('status').filter({ hasText: 'Enrolled Blue key' }).waitFor({ timeout: 30_000 });
    const enrolled = page.getByRole('table', { name: 'Enrolled hardware keys' });
    await enrolled.getByRole('cell', { name: 'Blue key', exact: true }).waitFor();
    // Detect again: the generated key is now listed on the token.
    await page.getByRole('button', { name: 'Detect' }).click();
    await page.getByLabel('Token Coffer test token').getByText('P-256').waitFor();
    await app.screenshot('09-hardware-keys');

    // A vault whose only way in (besides the recovery key) is the token.
    await page.getByRole('button', { name: 'Vaults', exact: true }).click();
    await page.getByRole('button', { name: 'Create your first vault' }).click();
    await app.pick('folder', path.dirname(path.join(work, 'hw-vault')), () => page.getByRole('button', { name: 'Choose…' }).click());
    await page.getByLabel('Folder', { exact: true }).fill(path.join(work, 'hw-vault'));
    await page.getByLabel('Vault name').fill('Hardware only');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('checkbox', { name: 'Unlock with a passphrase' }).uncheck();
    await page.getByRole('checkbox', { name: /Blue key/ }).check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Create vault' }).click();
    await page.getByRole('heading', { name: 'This vault is empty' }).waitFor();
    await page.getByRole('tab', { name: /Members/ }).click();
    await page.getByRole('table', { name: 'Key slots' }).getByRole('cell', { name: 'Hardware key' }).waitFor();

    await page.getByRole('button', { name: 'Lock', exact: true }).click();
    await page.getByRole('radio', { name: /Hardware key “Blue key”/ }).check();
    await page.getByLabel('PIN', { exact: true }).fill('000000');
    await page.getByRole('button', { name: 'Unlock' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor({ timeout: 30_000 });
    await expect(alert.textContent()).resolves.toMatch(/PIN/);
    await app.screenshot('10-wrong-pin');
    await page.getByLabel('PIN', { exact: true }).fill('123456');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('heading', { name: 'This vault is empty' }).waitFor({ timeout: 30_000 });
    expect(app.pageErrors).toEqual([]);
  });
});
