/**
 * No key bytes and no plaintext ever cross IPC. This journey exercises every kind of key the app
 * handles (member identity, passphrase slot, recovery key, vault keys of several epochs, file keys)
 * and file contents (add, export, open, re-encrypting revoke), recording every message in both
 * directions, events included. Every random value libsodium produced in this process during the
 * journey (vault keys, file keys, slot keys, nonces) and samples of every file's plaintext are then
 * searched for in the messages, raw and in hex, base64 and base64url. It runs over Electron's IPC
 * (the exposeBinding harness) and over the browser shell's WebSocket bridge.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initSodium, sodium, type SodiumBackend } from '../../main/core/crypto/sodium';
import { startBrowserApp } from './browser-harness';
import { requireChromium, startApp, tempDir, type AppUnderTest } from './harness';

const PASS = 'audit passphrase, four words';

function encodings(b: Buffer): string[] {
  return [b.toString('hex'), b.toString('base64').replace(/=+$/, ''), b.toString('base64url'), b.toString('latin1')].filter((s) => s.length >= 16);
}

// The same audit over both bridges: Electron's IPC (the exposeBinding harness) and the browser
// shell's WebSocket bridge (the real `coffer ui` server).
describe.each([
  ['Electron IPC', startApp],
  ['browser shell bridge', startBrowserApp],
] as const)('IPC audit over %s', (_name, start) => {
  let app: AppUnderTest;
  let work: string;
  const generated: Buffer[] = [];
  let restore: () => void = () => undefined;

  beforeAll(async () => {
    requireChromium();
    await initSodium();
    // Record every random value and key pair libsodium makes in this process from now on.
    const na = sodium() as { -readonly [K in keyof SodiumBackend]: SodiumBackend[K] };
    const { randomBytes: rb, boxKeypair: kp } = na;
    na.randomBytes = (n) => {
      const r = rb.call(na, n);
      if (n >= 16) generated.push(Buffer.from(r));
      return r;
    };
    na.boxKeypair = () => {
      const r = kp.call(na);
      generated.push(Buffer.from(r.secretKey));
      return r;
    };
    restore = () => {
      na.randomBytes = rb;
      na.boxKeypair = kp;
    };
    work = tempDir('audit');
    app = await start({ name: 'audit' });
  });
  afterAll(async () => {
    restore();
    await app?.close();
  });

  it('finds no key bytes, identity secrets, recovery key or plaintext in any message', async () => {
    const { page } = app;
    const src = path.join(work, 'src');
    mkdirSync(path.join(src, 'folder'), { recursive: true });
    const contents = [randomBytes(200_000), randomBytes(70_000), Buffer.from('The quarterly numbers are confidential: revenue 1,234,567 and margin 42 percent.\n'.repeat(20))];
    const names = ['a.bin', 'b.bin', 'folder/c.txt'];
    names.forEach((n, i) => writeFileSync(path.join(src, n), contents[i] as Buffer));

    // A member key on this computer, then a vault with passphrase + that key + recovery key.
    await page.getByRole('button', { name: 'Member keys' }).click();
    await page.getByLabel('Key name').fill('Audit key');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('table', { name: 'Member keys' }).waitFor();
    await page.getByRole('button', { name: 'Vaults', exact: true }).click();
    await page.getByRole('button', { name: 'New vault…' }).click();
    await app.pick('folder', path.dirname(path.join(work, 'vault')), () => page.getByRole('button', { name: 'Choose…' }).click());
    await page.getByLabel('Folder', { exact: true }).fill(path.join(work, 'vault'));
    await page.getByLabel('Vault name').fill('Audit');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Passphrase', { exact: true }).fill(PASS);
    await page.getByLabel('Passphrase again').fill(PASS);
    await page.getByRole('checkbox', { name: /My key “Audit key”/ }).check();
    await page.getByRole('button', { name: 'Next' }).click();
    const recoveryFile = path.join(work, 'recovery.txt');
    await app.pick('save', recoveryFile, () => page.getByRole('button', { name: 'Choose…' }).click());
    await expect.poll(() => page.getByLabel('Save the recovery key to').inputValue()).toBe(recoveryFile);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Create vault' }).click();
    await page.getByRole('heading', { name: 'This vault is empty' }).waitFor();

    // Add, export, open.
    await app.drop([path.join(src, 'a.bin'), path.join(src, 'b.bin'), path.join(src, 'folder')]);
    const table = page.getByRole('table', { name: 'Files' });
    await table.getByRole('row', { name: 'folder' }).waitFor();
    await table.getByRole('row', { name: 'b.bin' }).waitFor();
    const out = path.join(work, 'a-out.bin');
    await app.exportTo(out, () => page.getByRole('button', { name: 'Export a.bin' }).click());
    expect(readFileSync(out).equals(contents[0] as Buffer)).toBe(true);
    await table.getByRole('button', { name: 'folder', exact: true }).click();
    await page.getByRole('button', { name: 'Open c.txt' }).click();
    await expect.poll(() => app.opened.length, { timeout: 15_000 }).toBe(1);
    expect(readFileSync(app.opened[0] as string).equals(contents[2] as Buffer)).toBe(true);

    // Lock (wipes the opened file), unlock with the member key, then with the passphrase.
    await page.getByRole('button', { name: 'Lock', exact: true }).click();
    await expect.poll(() => existsSync(app.opened[0] as string)).toBe(false); // "Open" copies are wiped on lock
    await page.getByRole('radio', { name: /My member key/ }).check();
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('tab', { name: /Members/ }).click();
    await page.getByRole('button', { name: 'Rotate now' }).click();
    await page.getByRole('status').filter({ hasText: 'Rotated to epoch' }).waitFor();
    await page.getByRole('button', { name: 'Lock', exact: true }).click();
    await page.getByLabel('Passphrase', { exact: true }).fill(PASS);
    await page.getByRole('button', { name: 'Unlock' }).click();

    // Grant a second member, then revoke it with re-encryption (all content passes through again).
    await page.getByRole('tab', { name: /Members/ }).click();
    const otherId = await app.services.identities.create('Temporary');
    await page.getByLabel('Their member key (recipient)').fill(otherId.recipient);
    await page.getByLabel('Name', { exact: true }).fill('Temp');
    await page.getByRole('button', { name: 'Grant access' }).click();
    await page.getByRole('status').filter({ hasText: 'Granted Temp' }).waitFor();
    await page.getByRole('button', { name: 'Revoke Temp' }).click();
    await page.getByRole('radio', { name: /Rotate and re-encrypt/ }).check();
    await page.getByRole('form', { name: 'Revoke slot' }).getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('status').filter({ hasText: 'Revoked Temp' }).waitFor({ timeout: 30_000 });
    await page.getByRole('tab', { name: 'Files' }).click();
    await table.getByRole('row', { name: 'a.bin' }).waitFor();

    // ---- the audit ----
    const log = app.messages;
    expect(log.length).toBeGreaterThan(50);
    expect(new Set(log.map((m) => m.channel)).size).toBeGreaterThan(15);
    const all = log.map((m) => `${m.direction} ${m.channel} ${m.json}`).join('\n');

    // 1. Random bytes / key pairs libsodium made here (vault keys of 3+ epochs, file keys, slot keys).
    expect(generated.length).toBeGreaterThan(10);
    // Positive control: the detector does find a key that is present.
    const probe = `{"x":"${(generated[0] as Buffer).toString('base64')}"}`;
    expect(encodings(generated[0] as Buffer).some((e) => probe.includes(e))).toBe(true);
    for (const g of generated) for (const enc of encodings(g)) expect(all.includes(enc), `generated key material (${g.length} bytes) found in IPC`).toBe(false);

    // 2. Identity secrets and the recovery key never cross in any direction.
    expect(all).not.toMatch(/COFFER-SECRET-KEY-1/i);
    const recoveryKey = readFileSync(recoveryFile, 'utf8').trim().split('\n').pop() as string;
    expect(recoveryKey.length).toBeGreaterThan(20);
    expect(all.includes(recoveryKey)).toBe(false);
    for (const id of app.services.identities.list()) {
      const ident = await app.services.identities.unseal(id.id);
      const secret = ident.toString();
      ident.destroy();
      expect(all.includes(secret)).toBe(false);
      expect(all.toLowerCase().includes(secret.toLowerCase())).toBe(false);
    }

    // 3. The passphrase goes renderer → main only, in the requests that need it; never back.
    for (const m of log) {
      if (m.json.includes(PASS)) {
        expect(m.direction).toBe('request');
        expect(['vaults:create', 'vaults:unlock']).toContain(m.channel);
      }
    }

    // 4. No plaintext: samples of each file, raw and encoded.
    for (const c of contents) {
      for (let off = 0; off + 48 <= c.length; off += Math.max(48, Math.floor(c.length / 40))) {
        for (const enc of encodings(c.subarray(off, off + 48))) expect(all.includes(enc), 'file content found in IPC').toBe(false);
      }
    }

    // 5. No string value in any message even looks like a raw key (32+ bytes as hex or base64).
    const leaves = (v: unknown): string[] => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.flatMap(leaves) : v && typeof v === 'object' ? Object.values(v).flatMap(leaves) : []);
    // (picker:list replies are names of folders and files on this disk, e.g. other programs' temp
    // folders with long random names: they are covered by checks 1-4, not by this shape check.)
    // (files:exportDownload replies carry a one-time download URL: 32 random bytes that are a
    // capability for one GET of one file by this session, not key material; their shape is checked
    // here instead, and checks 1-4 above still cover them.)
    for (const m of log.filter((x) => x.channel === 'files:exportDownload' && x.direction === 'response')) {
      const reply = JSON.parse(m.json) as { ok: boolean; value: Record<string, string> };
      expect(reply.ok).toBe(true);
      expect(Object.keys(reply.value).sort()).toEqual(['name', 'url']);
      expect(reply.value.url).toMatch(/^\/download\/[A-Za-z0-9_-]{43}$/);
    }
    for (const m of log.filter((x) => x.channel !== 'picker:list' && !(x.channel === 'files:exportDownload' && x.direction === 'response'))) {
      for (const leaf of leaves(JSON.parse(m.json === 'undefined' ? 'null' : m.json))) {
        expect(/^[0-9a-f]{64,}$/i.test(leaf), `hex key-like value on ${m.channel}`).toBe(false);
        expect(/^[A-Za-z0-9+/_-]{43,}={0,2}$/.test(leaf) && !/^coffer/.test(leaf), `base64 key-like value on ${m.channel}: ${leaf.slice(0, 12)}…`).toBe(false);
      }
    }
    expect(app.pageErrors).toEqual([]);
  });
});
