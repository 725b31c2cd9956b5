/**
 * `coffer transit status`, `coffer vault rewrap` and Transit unlocking through the CLI, in-process,
 * against the Transit test server over TLS, configured the way a user would: Vault's environment
 * variables and a --vault-config file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { transitCommand, vaultRewrapCommand, configureTransit, readVaultConfig, transitMembers } from '../../main/cli/transit';
import { vaultCommand } from '../../main/cli/vault';
import { UsageError, type CliContext } from '../../main/cli/context';
import { nonInteractiveUI } from '../../main/core/keys/types';
import { setTransitClientSource } from '../../main/core/keys/transit/slot';
import { CofferError } from '../../main/core/errors';
import { makeHarness, policyFor, type Harness } from '../core/keys/transit/harness';
import type { TransitServer } from '../servers/transit/server';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

let h: Harness;
let srv: TransitServer;
let work: string;
let env: NodeJS.ProcessEnv;

function ctxFor(e: NodeJS.ProcessEnv): CliContext & { out: Capture } {
  const out = new Capture();
  const stdin = new PassThrough();
  stdin.end();
  return { stdin, stdout: out, stderr: new Capture(), env: e, ui: nonInteractiveUI, stateDir: path.join(work, 'state'), out };
}

async function run(cmd: (a: string[], c: CliContext) => Promise<void>, args: string[], e: NodeJS.ProcessEnv = env): Promise<string> {
  const c = ctxFor(e);
  await cmd(args, c);
  return c.out.text;
}

beforeAll(async () => {
  h = await makeHarness();
  srv = await h.server();
  srv.createKey('team-kek', 'chacha20-poly1305');
  srv.putPolicy('team', policyFor('team-kek'));
  work = mkdtempSync(path.join(os.tmpdir(), 'coffer-cli-transit-'));
  env = { VAULT_ADDR: srv.url, VAULT_CACERT: h.files.ca, VAULT_TOKEN: srv.createToken({ policies: ['team'] }), COFFER_STATE_DIR: path.join(work, 'state') };
});
afterAll(async () => {
  await h.cleanup();
  rmSync(work, { recursive: true, force: true });
});
afterEach(() => setTransitClientSource(undefined));

describe('coffer transit status', () => {
  it('shows address, auth, TLS (with the SPKI pin) and the key versions', async () => {
    const text = await run(transitCommand, ['status', '--transit-key', 'team-kek']);
    expect(text).toMatch(new RegExp(`^Vault: +${srv.url.replace(/[.]/g, '\\.')}, version 1\\.17\\.0`, 'm'));
    expect(text).toMatch(/^Auth: +token \(VAULT_TOKEN\), token, policies default, team, no expiry$/m);
    expect(text).toMatch(/^TLS: +TLSv1\.3 .*certificate CN=vault\.local issued by CN=Coffer Test CA/m);
    expect(text).toContain(`SPKI pin:   sha256/${h.fx.serverSpkiSha256}`);
    expect(text).toMatch(/^Key: +team-kek \(chacha20-poly1305\), latest version 1, min_decryption_version 1, min_encryption_version 0$/m);
    const j = JSON.parse(await run(transitCommand, ['status', '--transit-key', 'team-kek', '--json'])) as { tls: { spkiPin: string }; key: { latestVersion: number }; requests: number };
    expect(j.tls.spkiPin).toBe(`sha256/${h.fx.serverSpkiSha256}`);
    expect(j.key.latestVersion).toBe(1);
    expect(j.requests).toBe(3);
  });

  it('prints what it knows, then fails with the auth or key problem', async () => {
    const c = ctxFor({ ...env, VAULT_TOKEN: 'hvs.expired' });
    const e = await transitCommand(['status', '--transit-key', 'nope'], c).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(CofferError);
    expect((e as CofferError).code).toBe('TRANSIT_AUTH');
    expect(c.out.text).toMatch(/^Vault: /m);
    expect(c.out.text).toMatch(/^TLS: +TLSv1\.3/m);
  });

  it('reports a sealed Vault without failing, and usage errors', async () => {
    srv.seal();
    try {
      expect(await run(transitCommand, ['status'])).toMatch(/SEALED/);
    } finally {
      srv.unseal();
    }
    await expect(run(transitCommand, ['frobnicate'])).rejects.toBeInstanceOf(UsageError);
    expect(await run(transitCommand, ['--help'])).toMatch(/coffer transit status/);
  });
});

describe('vaults through the CLI', () => {
  it('init with a Transit member, unlock via Vault, rotate the Transit key, rewrap', async () => {
    const dir = path.join(work, 'team');
    const members = transitMembers({ 'transit-key': 'team-kek' }, ctxFor(env));
    expect(members.recipients).toEqual([{ recipient: `vault-transit:transit/team-kek@${srv.url}`, label: 'Vault Transit key transit/team-kek' }]);
    setTransitClientSource(undefined);
    expect(await run(vaultCommand, ['init', dir, '--name', 'Team', '--transit-key', 'team-kek'])).toMatch(/vault-transit +transit\/team-kek +Vault Transit key transit\/team-kek/);
    setTransitClientSource(undefined);
    const src = path.join(work, 'plan.txt');
    writeFileSync(src, 'the plan');
    await run(vaultCommand, ['add', dir, src]);
    expect(await run(vaultCommand, ['ls', dir])).toMatch(/plan\.txt/);

    srv.key('team-kek')?.rotate();
    expect(await run(vaultRewrapCommand, [dir])).toMatch(/^rewrapped 1 key slot wrap\(s\) to the latest Transit key version \(\d+ Vault requests\)$/m);
    expect(await run(vaultRewrapCommand, [dir])).toMatch(/nothing to rewrap/);
    const k = srv.key('team-kek');
    if (k) k.minDecryptionVersion = 2;
    expect(await run(vaultCommand, ['ls', dir])).toMatch(/plan\.txt/);
    if (k) k.minDecryptionVersion = 1;
  });

  it('strict init and grant --transit-key through the CLI', async () => {
    srv.createKey('second-kek');
    const dir = path.join(work, 'strict');
    expect(await run(vaultCommand, ['init', dir, '--transit-key', 'team-kek', '--strict'])).toMatch(/^Strict mode: every file key is also wrapped by vault-transit:transit\/team-kek;/m);
    const src = path.join(work, 'secret.txt');
    writeFileSync(src, 'strict content');
    srv.clearLog();
    await run(vaultCommand, ['add', dir, src]);
    expect(srv.requests.map((r) => r.path)).toEqual(['transit/decrypt/team-kek', 'transit/encrypt/team-kek']);
    expect(await run(vaultCommand, ['grant', dir, '--transit-key', 'second-kek'], { ...env, VAULT_TOKEN: srv.rootToken })).toMatch(/granted: slot \S+ \(vault-transit, fingerprint transit\/second-kek\)/);
    await expect(run(vaultCommand, ['grant', dir, '--transit-key', 'x', '--strict'])).rejects.toBeInstanceOf(UsageError);
  });

  it('init --transit-key K --anchor and vault anchor --transit: the key is rotated and min_decryption_version raised', async () => {
    srv.createKey('init-anchor');
    srv.createKey('later-anchor');
    const admin = { ...env, VAULT_TOKEN: srv.rootToken };
    const dir = path.join(work, 'anchored-init');
    const out = await run(vaultCommand, ['init', dir, '--transit-key', 'init-anchor', '--anchor'], admin);
    expect(out).toMatch(/^anchored: epoch 00000002-[0-9a-f]{8}; Vault Transit key transit\/init-anchor now decrypts only version 2 and later/m);
    expect(srv.key('init-anchor')).toMatchObject({ latestVersion: 2, minDecryptionVersion: 2 });
    await expect(run(vaultCommand, ['init', path.join(work, 'no-key'), '--anchor', '--recipient', 'coffer1x'], admin)).rejects.toBeInstanceOf(UsageError);
    // An existing vault: grant, then anchor; a second Transit slot makes --slot necessary.
    const dir2 = path.join(work, 'anchored-later');
    await run(vaultCommand, ['init', dir2, '--transit-key', 'later-anchor'], admin);
    const json = JSON.parse(await run(vaultCommand, ['anchor', dir2, '--transit', '--json'], admin)) as { anchored: string; anchor: { key: string; version: number } };
    expect(json).toMatchObject({ anchored: 'transit', anchor: { key: 'transit/later-anchor', version: 2 } });
    const members = JSON.parse(await run(vaultCommand, ['members', dir2, '--json'], admin)) as { anchor: { transit: { key: string } } | null };
    expect(members.anchor?.transit.key).toBe('transit/later-anchor');
    expect(await run(vaultCommand, ['members', dir2], admin)).toMatch(/^freshness anchor: Vault Transit key transit\/later-anchor \(slot [0-9a-f]{12}, version 2\)$/m);
    // rewrap leaves the older epoch's wrap (below min_decryption_version, reached through the chain) alone.
    expect(await run(vaultCommand, ['rewrap', dir2, '--json'], admin)).toMatch(/"wraps": 0/);
    expect((await run(vaultCommand, ['ls', dir2], admin))).toBe('');
    await expect(run(vaultCommand, ['anchor', dir2], admin)).rejects.toBeInstanceOf(UsageError);
    await expect(run(vaultCommand, ['anchor', dir2, '--hwkey'], admin)).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/-i STUB/) });
  });

  it('unlocks with AppRole from --vault-config; refuses VAULT_SKIP_VERIFY', async () => {
    const dir = path.join(work, 'approle');
    configureTransit({}, ctxFor(env));
    await run(vaultCommand, ['init', dir, '-r', 'vault-transit:transit/team-kek']);
    setTransitClientSource(undefined);
    const { roleId, secretId } = srv.addAppRole('cli', { policies: ['team'], ttl: 300 });
    const cfg = path.join(work, 'vault.json');
    writeFileSync(cfg, JSON.stringify({ address: srv.url, caCertFile: h.files.ca, auth: { method: 'approle', roleId, secretId } }));
    const bare = { COFFER_STATE_DIR: env.COFFER_STATE_DIR };
    expect(await run(vaultCommand, ['ls', dir, '--vault-config', cfg], bare)).toBeDefined();
    const e = await run(vaultCommand, ['ls', dir], { ...env, VAULT_SKIP_VERIFY: 'true' }).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(CofferError);
    expect((e as CofferError).message).toMatch(/never disables TLS certificate verification/);
  });

  it('validates --vault-config files and member options', () => {
    const bad = path.join(work, 'bad.json');
    writeFileSync(bad, JSON.stringify({ address: 'https://v.example', tokne: 'x' }));
    expect(() => readVaultConfig(bad)).toThrow(/unknown setting "tokne"/);
    writeFileSync(bad, JSON.stringify({ auth: { method: 'password' } }));
    expect(() => readVaultConfig(bad)).toThrow(/auth\.method/);
    expect(() => transitMembers({ strict: true }, ctxFor(env))).toThrow(UsageError);
    expect(transitMembers({ 'transit-key': 'team-kek', strict: true }, ctxFor(env)).strict).toBe('vault-transit:transit/team-kek');
    expect(() => transitMembers({ 'transit-key': 'k' }, ctxFor({}))).toThrow(/needs a Vault address/);
  });
});
