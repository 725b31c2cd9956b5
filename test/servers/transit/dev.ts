/**
 * `npm run transit-dev -- [--port N] [--tls] [--root-token T] [--dir D]`: the Transit test server on
 * its own, like `vault server -dev`, so a person can try Coffer's Transit mode without a Vault.
 * It mounts transit/, prints `Api Address:` and `Root Token:` on their own lines, and says loudly
 * that it is for development only.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTransitServer } from './server';
import { makeTlsFixtures, writeTlsFixtures } from './tls-fixtures';

function usage(msg: string): never {
  process.stderr.write(`transit-dev: ${msg}\nusage: npm run transit-dev -- [--port N] [--tls] [--root-token TOKEN] [--dir DIR]\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let port = 8200;
  let tls = false;
  let rootToken: string | undefined;
  let dir: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const val = (): string => {
      const v = args[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === '--port') {
      port = Number(val());
      if (!Number.isInteger(port) || port < 0 || port > 65535) usage('--port must be 0–65535');
    } else if (a === '--tls') tls = true;
    else if (a === '--root-token') rootToken = val();
    else if (a === '--dir') dir = val();
    else if (a === '--help' || a === '-h') usage('help');
    else usage(`unknown argument ${a}`);
  }
  let files: Record<string, string> | undefined;
  let tlsOpts;
  if (tls) {
    const fx = await makeTlsFixtures();
    files = writeTlsFixtures(fx, dir ?? mkdtempSync(path.join(os.tmpdir(), 'coffer-transit-dev-')));
    tlsOpts = { cert: fx.server.cert, key: fx.server.key, ca: fx.ca.cert, clientCerts: 'request' as const };
  }
  const srv = await startTransitServer({ port, tls: tlsOpts, rootToken });
  const bar = '='.repeat(78);
  const out = [
    bar,
    'WARNING! DEVELOPMENT ONLY. This is Coffer\'s Transit-compatible TEST server, not HashiCorp Vault.',
    'Keys live in memory and are lost when it stops; there is no audit log, no storage, no hardening.',
    'Never protect real data with it. Use a real Vault for anything that matters (docs/VAULT-TRANSIT.md).',
    bar,
    '',
    'You may need to set the following environment variables:',
    '',
    `    $ export VAULT_ADDR='${srv.url}'`,
    ...(files ? [`    $ export VAULT_CACERT='${files['ca.pem']}'`] : []),
    '',
    'The transit secrets engine is mounted at transit/.',
    ...(files ? [`Client certificate for mTLS/cert login: ${files['client.pem']} (key ${files['client-key.pem']})`] : []),
    '',
    `Unseal Key: ${srv.unsealKey}`,
    '',
    `Api Address: ${srv.url}`,
    `Root Token: ${srv.rootToken}`,
    '',
    'DEVELOPMENT ONLY: do not use in production. Press Ctrl+C to stop.',
    '',
  ];
  process.stdout.write(out.join('\n'));
  const stop = (): void => {
    void srv.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`transit-dev: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
