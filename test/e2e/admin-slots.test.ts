/**
 * Issue 11 item 5 (the flows admin.test.ts leaves out) and item 8 (the token card after enrolment),
 * in Chromium through the real preload, handlers and services, with a real SoftHSM2 token and the
 * Transit test server over real TLS:
 *  - enrolling a token refreshes its card at once (the new P-256 key is listed, "No P-256 key" is
 *    gone) without pressing Detect again;
 *  - an existing passphrase vault gets a hardware-key slot and a Vault Transit slot from its
 *    "Keys & health" tab;
 *  - the vault then opens with each of those slots through the `coffer` CLI (a separate process
 *    that knows nothing of the app: the token's stub and PIN, or Vault's environment variables).
 *    The same CLI commands run before the slots are added fail: the check would catch a slot that
 *    was not really written.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSoftHsm, type SoftHsm } from '../fixtures/softhsm';
import { runCoffer } from '../helpers/cli';
import { startTransitServer, type TransitServer } from '../servers/transit/server';
import { makeTlsFixtures, writeTlsFixtures } from '../servers/transit/tls-fixtures';
import { requireChromium, startApp, tempDir, type AppUnderTest } from './harness';
import { createFirstVault } from './journeys';

const PASS = 'admin slots journey passphrase';
const PIN = '123456';
const POLICY = ['encrypt', 'decrypt', 'rewrap', 'datakey/wrapped']
  .map((op) => `path "transit/${op}/coffer-kek" { capabilities = ["update"] }`)
  .concat('path "transit/keys/coffer-kek" { capabilities = ["read"] }')
  .join('\n');

describe('issue 11 items 5 and 8: hardware key and Transit slots added to an existing vault from the app', () => {
  let app: AppUnderTest;
  let hsm: SoftHsm;
  let srv: TransitServer;
  let work: string;
  let caFile: string;
  let token: string;

  beforeAll(async () => {
    requireChromium();
    hsm = createSoftHsm(); // throws with the reason if SoftHSM2 is not installed
    hsm.initToken('Coffer admin token', PIN, '12345678');
    work = tempDir('admin-slots');
    const fx = await makeTlsFixtures();
    caFile = writeTlsFixtures(fx, path.join(work, 'tls'))['ca.pem'] as string;
    srv = await startTransitServer({ tls: { cert: fx.server.cert, key: fx.server.key } });
    srv.createKey('coffer-kek');
    srv.putPolicy('coffer', POLICY);
    token = srv.createToken({ policies: ['coffer'] });
    app = await startApp({ name: 'admin-slots' });
  });
  afterAll(async () => {
    await app?.close();
    await srv?.close();
    hsm?.destroy();
  });

  it('enrols a token (its card refreshes by itself), adds it and a Transit slot to a vault, which then opens with each', async () => {
    const { page } = app;
    const vaultDir = path.join(work, 'Shared vault');
    const stubFile = path.join(work, 'token.stub');
    const pinFile = path.join(work, 'pin');
    writeFileSync(pinFile, `${PIN}\n`);
    const plan = path.join(work, 'plan.txt');
    writeFileSync(plan, 'the plan\n');
    const cliEnv = { SOFTHSM2_CONF: process.env.SOFTHSM2_CONF, COFFER_STATE_DIR: path.join(work, 'cli-state') };
    const transitEnv = { ...cliEnv, VAULT_ADDR: srv.url, VAULT_CACERT: caFile, VAULT_TOKEN: token };

    // An existing vault with a passphrase and one file.
    await createFirstVault(app, { pickIn: work, dir: vaultDir, name: 'Shared', passphrase: PASS });
    await app.drop([plan]);
    await page.getByRole('table', { name: 'Files' }).getByRole('row', { name: 'plan.txt' }).waitFor({ timeout: 60_000 });

    // Item 8: enrol the token; its card shows the new key without pressing Detect again.
    await page.getByRole('button', { name: 'Hardware keys' }).click();
    await app.pick('module', hsm.modulePath, () => page.getByRole('button', { name: 'Choose…' }).click());
    await expect.poll(() => page.getByLabel('PKCS#11 module').inputValue()).toMatch(/libsofthsm2\.so$/);
    await page.getByRole('button', { name: 'Detect' }).click();
    const card = page.getByLabel('Token Coffer admin token');
    await card.getByText('No P-256 key on this token yet.').waitFor();
    const detects = (): number => app.messages.filter((m) => m.direction === 'request' && m.channel === 'hwkeys:detect').length;
    await page.getByLabel('Name', { exact: true }).fill('Blue key');
    await page.getByLabel('PIN', { exact: true }).fill(PIN);
    const before = detects();
    await page.getByRole('button', { name: 'Enroll' }).click();
    await page.getByRole('status').filter({ hasText: 'Enrolled Blue key' }).waitFor({ timeout: 30_000 });
    await card.getByText('P-256').waitFor();
    expect(await card.getByText('No P-256 key').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Detect' }).isEnabled()).toBe(true);
    // The refresh was the app's own detect after enrolment (one request), not a click on Detect.
    expect(detects()).toBe(before + 1);
    await app.screenshot('s01-token-card-after-enrol');

    // The CLI cannot open the vault with the token or with Transit yet (the controls).
    const stored = JSON.parse(readFileSync(path.join(app.dataDir, 'hardware-keys.json'), 'utf8')) as { label: string; stub: string }[];
    writeFileSync(stubFile, `${stored.find((k) => k.label === 'Blue key')?.stub ?? ''}\n`);
    const hwLs = ['vault', 'ls', vaultDir, '-i', stubFile, '--pin-file', pinFile];
    const noHw = await runCoffer(hwLs, { env: cliEnv });
    expect(noHw.code, noHw.stderr).not.toBe(0);
    const noTransit = await runCoffer(['vault', 'ls', vaultDir], { env: transitEnv });
    expect(noTransit.code, noTransit.stderr).not.toBe(0);

    // The Vault connection, as a person sets it up.
    await page.getByRole('button', { name: 'Vault connection' }).click();
    await page.getByLabel('Address', { exact: true }).fill(srv.url);
    await page.getByLabel('Key name').fill('coffer-kek');
    await page.getByLabel('CA certificate (PEM file)').fill(caFile);
    await page.getByLabel('Vault token').fill(token);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();

    // Item 5: add both slots to the existing vault from its Keys & health tab.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: /Shared/ }).click();
    await page.getByRole('tab', { name: 'Keys & health' }).click();
    const add = page.getByRole('region', { name: 'Add a key to this vault' });
    await expect(add.getByLabel('Hardware key to add').inputValue()).resolves.not.toBe('');
    await add.getByRole('button', { name: 'Add hardware key' }).click();
    await add.getByRole('status').filter({ hasText: 'Added hardware key Blue key' }).waitFor({ timeout: 30_000 });
    srv.clearLog();
    await add.getByRole('button', { name: 'Add Vault Transit slot (coffer-kek)' }).click();
    await add.getByRole('status').filter({ hasText: 'Added a Vault Transit slot' }).waitFor({ timeout: 30_000 });
    expect(srv.requests.some((r) => r.path.includes('transit/encrypt/coffer-kek') && r.status === 200)).toBe(true);
    // Both are now among the vault's keys (and no longer offered).
    await expect.poll(() => add.getByRole('button', { name: /Add Vault Transit slot/ }).count()).toBe(0);
    await add.getByText('Every hardware key enrolled here is already a key of this vault.').waitFor();
    await app.screenshot('s02-slots-added');
    await page.getByRole('tab', { name: /Members/ }).click();
    const slots = page.getByRole('table', { name: 'Key slots' });
    await slots.getByRole('cell', { name: 'Hardware key', exact: true }).first().waitFor();
    await slots.getByRole('cell', { name: 'Vault Transit', exact: true }).first().waitFor();

    // The vault opens with each new slot, through the CLI alone.
    const withHw = await runCoffer(hwLs, { env: cliEnv });
    expect(withHw.code, withHw.stderr).toBe(0);
    expect(withHw.stdout.toString().trim()).toBe('plan.txt');
    srv.clearLog();
    const withTransit = await runCoffer(['vault', 'ls', vaultDir], { env: transitEnv });
    expect(withTransit.code, withTransit.stderr).toBe(0);
    expect(withTransit.stdout.toString().trim()).toBe('plan.txt');
    expect(srv.requests.some((r) => r.path.includes('transit/decrypt/coffer-kek') && r.status === 200)).toBe(true);
    expect(app.pageErrors).toEqual([]);
  });
});
