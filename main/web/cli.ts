/** `coffer ui [--port N] [--no-open]`: serves the app to a browser on 127.0.0.1 until the last page closes or Ctrl-C. */
import { promptHidden } from '../cli/tty';
import { UsageError, type Subcommand } from '../cli/context';
import { builtAssets, startUi } from '.';
import { openAppWindow } from './open';

export const UI_HELP = `coffer ui [--port N] [--no-open]

Runs the Coffer app in your browser (for machines where the Electron app cannot run).
The server listens on 127.0.0.1 only. It prints a one-time address; the page that opens it gets a
session cookie, and no other page or site can use the app. Closing the last Coffer page, or
Ctrl-C, locks every vault and stops the server.

  --port N    listen on port N (default: any free port)
  --no-open   print the address but do not open a browser window
`;

export const uiCommand: Subcommand = async (args, ctx) => {
  let port: number | undefined;
  let open = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--no-open') open = false;
    else if (a === '--port') {
      const v = Number(args[++i]);
      if (!Number.isInteger(v) || v < 0 || v > 65535) throw new UsageError('--port needs a port number (0-65535)');
      port = v;
    } else if (a === '-h' || a === '--help') {
      ctx.stdout.write(UI_HELP);
      return;
    } else throw new UsageError(`coffer ui: unknown option ${a}`);
  }
  const assets = builtAssets(ctx.env);
  let stopped!: () => void;
  const done = new Promise<void>((r) => (stopped = r));
  const ui = await startUi({
    ...assets,
    env: ctx.env,
    ...(port !== undefined ? { port } : {}),
    askPassphrase: async (firstTime) => {
      if (!process.stdin.isTTY) return null;
      ctx.stderr.write(firstTime ? 'coffer ui: no keyring answers here; choose a passphrase to protect the keys Coffer stores on this computer.\n' : 'coffer ui: no keyring answers here; the keys Coffer stores on this computer are protected by a passphrase.\n');
      const p = await promptHidden('Passphrase for the local key store: ');
      if (firstTime && p !== (await promptHidden('Again: '))) throw new UsageError('the two passphrases do not match');
      return p;
    },
    onStopped: () => stopped(),
  });
  ctx.stderr.write(`coffer ui: private keys are kept in: ${ui.storage}\n`);
  if (ui.services.storage.warning()) ctx.stderr.write(`coffer ui: ${ui.services.storage.warning()}\n`);
  ctx.stdout.write(`Coffer is running at ${ui.shell.origin}\nOpen this address once (it signs the page in): ${ui.shell.launchUrl}\n`);
  if (open) ctx.stderr.write(`coffer ui: ${await openAppWindow(ui.shell.launchUrl, process.platform, ctx.env)}\n`);
  ctx.stderr.write('coffer ui: close the Coffer page or press Ctrl-C to lock every vault and stop.\n');
  const onSignal = (): void => {
    ctx.stderr.write('coffer ui: locking every vault and stopping…\n');
    void ui.stop();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  await done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  ctx.stderr.write('coffer ui: stopped; every vault is locked.\n');
};
