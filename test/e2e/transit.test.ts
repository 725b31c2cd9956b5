/**
 * Journey 4: configure the Vault connection against the Transit test server (HTTPS with its own
 * CA), test it, make a vault whose slot is wrapped by Transit, and unlock through Vault. Then the
 * token's policy is withdrawn on the server and unlocking is refused with a clear message.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTransitServer, type TransitServer } from '../servers/transit/server';
import { makeTlsFixtures, writeTlsFixtures } from '../servers/transit/tls-fixtures';
import { requireChromium, tempDir, type AppUnderTest } from './harness';
import { startBrowserApp } from './browser-harness';

const POLICY = ['encrypt', 'decrypt', 'rewrap', 'datakey/wrapped']
  .map((op) => `path "transit/${op}/coffer-kek" { capabilities = ["update"] }`)
  .concat('path "transit/keys/coffer-kek" { capabilities = ["read"] }')
  .join('\n');

describe('journey: Vault Transit', () => {
  let app: AppUnderTest;
  let srv: TransitServer;
  let work: string;
  let caFile: string;
  let token: string;

  beforeAll(async () => {
    requireChromium();
    work = tempDir('j4');
    const fx = await makeTlsFixtures();
    caFile = writeTlsFixtures(fx, path.join(work, 'tls'))['ca.pem'] as string;
    srv = await startTransitServer({ tls: { cert: fx.server.cert, key: fx.server.key } });
    srv.createKey('coffer-kek');
    srv.putPolicy('coffer', POLICY);
    token = srv.createToken({ policies: ['coffer'] });
    app = await startBrowserApp({ name: 'j4' });
  });
  afterAll(async () => {
    await app?.close();
    await srv?.close();
  });

  it('configures Transit, creates a Transit-wrapped vault and unlocks through Vault', async () => {
    const { page } = app;
    await page.getByRole('button', { name: 'Vault connection' }).click();
    await page.getByLabel('Address', { exact: true }).fill(srv.url);
    await page.getByLabel('Key name').fill('coffer-kek');
    await page.getByLabel('CA certificate (PEM file)').fill(caFile);
    await page.getByLabel('Vault token').fill(token);
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.getByRole('status').filter({ hasText: 'Connected to Vault' }).waitFor();
    await expect(page.getByRole('status').textContent()).resolves.toContain('over TLS');
    await app.screenshot('11-vault-connection');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    expect(JSON.stringify(app.messages.filter((m) => m.direction === 'response'))).not.toContain(token);

    await page.getByRole('button', { name: 'Vaults', exact: true }).click();
    await page.getByRole('button', { name: 'Create your first vault' }).click();
    await app.pick('folder', path.dirname(path.join(work, 'transit-vault')), () => page.getByRole('button', { name: 'Choose…' }).click());
    await page.getByLabel('Folder', { exact: true }).fill(path.join(work, 'transit-vault'));
    await page.getByLabel('Vault name').fill('Finance');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('checkbox', { name: 'Unlock with a passphrase' }).uncheck();
    await page.getByRole('checkbox', { name: /Transit key/ }).check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Create vault' }).click();
    await page.getByRole('heading', { name: 'This vault is empty' }).waitFor();

    await page.getByRole('button', { name: 'Lock', exact: true }).click();
    srv.clearLog();
    await page.getByRole('radio', { name: /HashiCorp Vault Transit/ }).check();
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('heading', { name: 'This vault is empty' }).waitFor();
    expect(srv.requests.some((r) => r.path.includes('transit/decrypt/coffer-kek') && r.status === 200)).toBe(true);

    // Vault withdraws the policy: the next unlock is refused and the screen says why.
    await page.getByRole('button', { name: 'Lock', exact: true }).click();
    srv.putPolicy('coffer', 'path "transit/keys/coffer-kek" { capabilities = ["read"] }');
    await page.getByRole('radio', { name: /HashiCorp Vault Transit/ }).check();
    await page.getByRole('button', { name: 'Unlock' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    await expect(alert.textContent()).resolves.toMatch(/permission denied|refused|denied/i);
    await app.screenshot('12-transit-denied');
    expect(app.pageErrors).toEqual([]);
  });
});
