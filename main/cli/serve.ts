/**
 * `coffer vault serve DIR [--port N] [--read-only] [--password-file F]`: the unlocked vault as a
 * WebDAV drive on 127.0.0.1 (main/core/webdav). Prints exactly three lines on stdout once listening:
 *   url: http://127.0.0.1:PORT/
 *   user: coffer
 *   password: SECRET
 * and serves until SIGINT or SIGTERM; then uploads still streaming in are abandoned (nothing enters
 * the vault), the vault is locked and the command exits 0.
 */
import { randomBytes } from 'node:crypto';
import { initSodium } from '../core/crypto/sodium';
import { openVault } from '../core/vault';
import { DavServer } from '../core/webdav/server';
import { parse } from './args';
import { UsageError, type CliContext } from './context';
import { readSecretFile } from './tty';
import { resolveUnlock, unlockOptions, unlockUsage } from './unlock';

export const SERVE_USER = 'coffer';

export async function serveCommand(args: string[], ctx: CliContext): Promise<void> {
  const use = `usage: coffer vault serve DIR [--port N] [--read-only] [--password-file F] ${unlockUsage()}`;
  const { values, positionals } = parse(args, {
    ...unlockOptions(), port: { type: 'string' }, 'read-only': { type: 'boolean' }, 'password-file': { type: 'string' },
  }, use);
  const dir = positionals[0];
  if (dir === undefined || positionals.length !== 1) throw new UsageError(use);
  let port = 0;
  if (values.port !== undefined) {
    if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) throw new UsageError(`--port takes a number from 0 to 65535\n${use}`);
    port = Number(values.port);
  }
  const password = values['password-file'] ? readSecretFile(values['password-file']) : randomBytes(18).toString('base64url');
  await initSodium();
  const { credentials, ui } = await resolveUnlock(values, ctx);
  const vault = await openVault(dir, { credentials, ui, stateDir: ctx.stateDir });
  try {
    const server = new DavServer({
      vault, user: SERVE_USER, password, port, readOnly: values['read-only'] === true,
      onError: (m) => ctx.stderr.write(`${m}\n`),
      // COFFER_DEBUG logs each request (it names paths, so only on request).
      ...(ctx.env.COFFER_DEBUG ? { onRequest: (l: string) => ctx.stderr.write(`coffer serve: ${l}\n`) } : {}),
    });
    let stop: (sig: string) => void = () => undefined;
    const stopped = new Promise<string>((r) => {
      stop = r;
    });
    const onInt = (): void => stop('SIGINT');
    const onTerm = (): void => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    try {
      const { url } = await server.listen();
      ctx.stdout.write(`url: ${url}\nuser: ${SERVE_USER}\npassword: ${password}\n`);
      ctx.stderr.write(`serving vault "${vault.name}"${values['read-only'] ? ' read-only' : ''} on ${url} (loopback only); stop with Ctrl-C\n`);
      const sig = await stopped;
      ctx.stderr.write(`${sig}: stopping (uploads in flight are abandoned; nothing half-written enters the vault)\n`);
      await server.close();
    } finally {
      process.removeListener('SIGINT', onInt);
      process.removeListener('SIGTERM', onTerm);
    }
  } finally {
    vault.lock();
  }
}
