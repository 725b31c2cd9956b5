/**
 * Strict vaults keep previous versions with Transit-sealed file keys (docs/FORMAT.md §6.16): after the
 * Transit key rotates and `min_decryption_version` is raised, an older version stays readable only because
 * `rewrap` rewraps the sealed keys in `history` too. The control shows the failure it prevents: before the
 * rewrap, with the old key version retired, the previous version cannot be opened.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { makeHarness, policyFor, type Harness } from './harness';
import type { TransitServer } from '../../../servers/transit/server';
import { setTransitClientSource } from '../../../../main/core/keys/transit/slot';
import { rewrapVaultTransit } from '../../../../main/core/vault/transit-rewrap';
import { initVault, type Vault } from '../../../../main/core/vault';
import type { TransitClient } from '../../../../main/core/keys/vault-transit';

let h: Harness;
let srv: TransitServer;
let work: string;

beforeAll(async () => {
  h = await makeHarness();
  srv = await h.server();
  srv.createKey('ver-kek');
  work = mkdtempSync(path.join(os.tmpdir(), 'coffer-strict-versions-'));
});
afterAll(async () => {
  setTransitClientSource(undefined);
  await h.cleanup();
  rmSync(work, { recursive: true, force: true });
});

async function version(v: Vault, vpath: string, n: number): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await v.readVersion(vpath, n, out);
  return Buffer.concat(chunks).toString('utf8');
}

describe('strict vault: previous versions and Transit rewrap', () => {
  it('rewrap moves the sealed keys of previous versions too, so they stay readable after the old key version is retired', async () => {
    srv.putPolicy('ver', policyFor('ver-kek'));
    const client: TransitClient = h.client(srv, { VAULT_TOKEN: srv.createToken({ policies: ['ver'] }) });
    setTransitClientSource(() => client);
    const { vault: v } = await initVault(path.join(work, 'v'), { recipients: [{ recipient: 'vault-transit:transit/ver-kek' }], stateDir: path.join(work, 'state'), strict: 'vault-transit:transit/ver-kek' });
    await v.addStream('plan.txt', Readable.from([Buffer.from('plan, first')]));
    await v.addStream('plan.txt', Readable.from([Buffer.from('plan, second')]));
    expect(await version(v, 'plan.txt', 1)).toBe('plan, first');

    const key = srv.key('ver-kek');
    if (!key) throw new Error('no key');
    key.rotate();
    // Control: the old key version retired before any rewrap — the previous version no longer opens.
    key.minDecryptionVersion = 2;
    await expect(version(v, 'plan.txt', 1)).rejects.toMatchObject({ code: 'TRANSIT_VERSION_TOO_OLD' });
    key.minDecryptionVersion = 1;

    const rep = await rewrapVaultTransit(v, client);
    expect(rep.fileKeys).toBe(1); // one record, whose current and previous sealed keys were both rewrapped
    key.minDecryptionVersion = 2;
    expect(await version(v, 'plan.txt', 1)).toBe('plan, first');
    expect(await version(v, 'plan.txt', v.versions('plan.txt')[0]?.version as number)).toBe('plan, second');
    expect((await v.verify()).problems.filter((p) => p.severity === 'error')).toEqual([]);
    v.lock();
    key.minDecryptionVersion = 1;
  });
});
