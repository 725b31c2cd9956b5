/**
 * Shared set-up for the vault-transit provider tests: TLS fixtures written to a temp folder (so
 * VAULT_CACERT & co. point at real files), Transit test servers over HTTPS, and a client factory
 * that takes Vault's environment variables the way a user would set them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { makeTlsFixtures, type TlsFixtures, type PemPair } from '../../../servers/transit/tls-fixtures';
import { startTransitServer, type TransitServer, type TransitServerTls } from '../../../servers/transit/server';
import { TransitClient, type TransitSettings } from '../../../../main/core/keys/vault-transit';
import type { ProviderNotice, ProviderUI } from '../../../../main/core/keys/types';

export interface Harness {
  readonly fx: TlsFixtures;
  readonly dir: string;
  /** Paths of PEM files: ca, otherCa, client, clientKey, stranger, strangerKey. */
  readonly files: Record<'ca' | 'otherCa' | 'client' | 'clientKey' | 'stranger' | 'strangerKey', string>;
  server(tls?: Partial<TransitServerTls> & { pair?: PemPair }): Promise<TransitServer>;
  client(server: TransitServer | string, env?: NodeJS.ProcessEnv, settings?: TransitSettings): TransitClient;
  cleanup(): Promise<void>;
}

export async function makeHarness(): Promise<Harness> {
  const fx = await makeTlsFixtures();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coffer-transit-test-'));
  const put = (name: string, text: string): string => {
    const p = path.join(dir, name);
    writeFileSync(p, text, { mode: 0o600 });
    return p;
  };
  const files = {
    ca: put('ca.pem', fx.ca.cert), otherCa: put('other-ca.pem', fx.otherCa.cert),
    client: put('client.pem', fx.client.cert), clientKey: put('client-key.pem', fx.client.key),
    stranger: put('stranger.pem', fx.strangerClient.cert), strangerKey: put('stranger-key.pem', fx.strangerClient.key),
  };
  const servers: TransitServer[] = [];
  const clients: TransitClient[] = [];
  return {
    fx, dir, files,
    async server(tls = {}) {
      const pair = tls.pair ?? fx.server;
      const s = await startTransitServer({ rootToken: `root-${servers.length}`, tls: { cert: pair.cert, key: pair.key, ca: fx.ca.cert, clientCerts: tls.clientCerts ?? 'none' } });
      servers.push(s);
      return s;
    },
    client(server, env = {}, settings = {}) {
      const addr = typeof server === 'string' ? server : server.url;
      const c = TransitClient.fromSettings(settings, { VAULT_ADDR: addr, VAULT_CACERT: files.ca, ...env }, dir);
      clients.push(c);
      return c;
    },
    async cleanup() {
      for (const c of clients) c.close();
      await Promise.all(servers.map((s) => s.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A ProviderUI that records notices and never prompts. */
export function recordingUI(): ProviderUI & { notices: ProviderNotice[] } {
  const notices: ProviderNotice[] = [];
  return {
    notices,
    requestSecret: () => Promise.reject(new Error('no prompts in tests')),
    notify: (n) => {
      notices.push(n);
    },
  };
}

/** The transit policy from docs/VAULT-TRANSIT.md for one key. */
export const policyFor = (key: string, mount = 'transit'): string => `
path "${mount}/encrypt/${key}" { capabilities = ["update"] }
path "${mount}/decrypt/${key}" { capabilities = ["update"] }
path "${mount}/rewrap/${key}" { capabilities = ["update"] }
path "${mount}/datakey/plaintext/${key}" { capabilities = ["update"] }
path "${mount}/keys/${key}" { capabilities = ["read"] }
`;
