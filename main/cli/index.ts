/** Entry point of the `coffer` command. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { toErrorInfo } from '../core/errors';
import { HelpRequest, UsageError, type CliContext, type Subcommand } from './context';
import { explainFsError } from './fs-errors';
import { decryptCommand, encryptCommand, inspectCommand, keygenCommand } from './files';
import { makeCliUI } from './tty';
import { termSafe } from './output';
import { Interrupted } from './signals';

const VERSION = '0.1.0';

const HELP = `coffer ${VERSION}: encrypted files and vaults

Files:
  coffer keygen [-o FILE]
  coffer encrypt [-r RECIPIENT]... [-R RECIPIENTS_FILE]... [-p] [-o OUT] [IN]
  coffer decrypt [-i IDENTITY_FILE]... [-o OUT] [IN]
  coffer inspect [--json] [IN]

Vaults (coffer vault --help for all operations):
  coffer vault init DIR [--name NAME] [-p] [-r RECIPIENT]... [--hwkey RECIPIENT_OR_STUB]
  coffer vault add DIR SRC... [--to VPATH]
  coffer vault ls DIR [VPATH] [-l] [--json]
  coffer vault get DIR VPATH -o DEST

Hardware keys (YubiKey PIV, any PKCS#11 token):
  coffer hwkey list [--module PATH]
  coffer hwkey enroll [--module PATH] [--serial N | --token LABEL] [--slot 9d|82…95] (--generate | --use-existing) [--label NAME] [-o FILE]

The app in a browser (where Electron cannot run):
  coffer ui [--port N] [--no-open]

HashiCorp Vault Transit:
  coffer vault init DIR --transit-key NAME [--transit-mount M] [--strict]
  coffer vault rewrap DIR
  coffer transit status [--vault-config FILE]

Passphrases come from a terminal prompt, COFFER_PASSPHRASE, or --passphrase-file F.
IN and OUT default to stdin and stdout. With -o, output appears only when complete.
`;

/** Loads a subcommand module on first use, so single-file commands stay small and fast to start. */
const lazy = (load: () => Promise<Subcommand>): Subcommand => async (args, ctx) => (await load())(args, ctx);

/** Providers that add unlock options (--pin-file, --vault-config…) register them when imported. */
async function loadProviders(): Promise<void> {
  await import('./hwkey');
  await import('./transit');
}

const commands: Record<string, Subcommand> = {
  keygen: keygenCommand,
  encrypt: encryptCommand,
  decrypt: decryptCommand,
  inspect: inspectCommand,
  vault: lazy(async () => {
    await loadProviders();
    return (await import('./vault')).vaultCommand;
  }),
  hwkey: lazy(async () => (await import('./hwkey')).hwkeyCommand),
  transit: lazy(async () => (await import('./transit')).transitCommand),
  // The browser shell (main/web): the app's services served to a browser page on 127.0.0.1.
  ui: lazy(async () => (await import('../web/cli')).uiCommand),
};

export function defaultContext(): CliContext {
  const env = process.env;
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env,
    ui: makeCliUI({ env, stderr: process.stderr }),
    stateDir: env.COFFER_STATE_DIR ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'coffer'),
  };
}

/** Runs one command line; returns the exit status (0 ok, 1 failure, 2 usage). */
export async function runCli(argv: string[], ctx: CliContext = defaultContext()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    (name === undefined ? ctx.stderr : ctx.stdout).write(HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    ctx.stdout.write(`coffer ${VERSION}\n`);
    return 0;
  }
  const cmd = commands[name];
  if (!cmd) {
    ctx.stderr.write(`coffer: unknown command "${name}"; run coffer --help\n`);
    return 2;
  }
  try {
    await cmd(rest, ctx);
    return 0;
  } catch (e) {
    if (e instanceof HelpRequest) {
      ctx.stdout.write(`${e.usage.trimEnd()}\n`);
      return 0;
    }
    if (e instanceof UsageError) {
      ctx.stderr.write(`coffer: ${e.message}\n`);
      return 2;
    }
    // A file-system error never names an internal temporary or lock file (see fs-errors.ts).
    const info = toErrorInfo(explainFsError(e, { verb: 'use' }));
    // One line, whatever a vault-derived name inside the message holds (control characters escaped).
    ctx.stderr.write(`coffer: ${termSafe(info.message)}\n`);
    if (ctx.env.COFFER_DEBUG && e instanceof Error) ctx.stderr.write(`${e.stack ?? ''}\n`);
    return e instanceof Interrupted ? e.status : 1;
  }
}

/** Process entry: runs argv and sets the exit code. */
export function main(): void {
  // A closed stdout (e.g. `coffer decrypt | head`) is not a crash.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(1);
  });
  // Whatever escapes a command still ends as one `coffer: ` line and exit 1, never a stack trace.
  const fatal = (e: unknown): void => {
    process.stderr.write(`coffer: internal error: ${termSafe(e instanceof Error ? e.message : String(e))}\n`);
    if (process.env.COFFER_DEBUG && e instanceof Error) process.stderr.write(`${e.stack ?? ''}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  let finished = false;
  // If the event loop ever empties before the command settles, that is a bug: never exit 0 then.
  process.once('beforeExit', () => {
    if (!finished) {
      process.stderr.write('coffer: internal error: the operation stopped before completing\n');
      process.exitCode = 1;
    }
  });
  void runCli(process.argv.slice(2)).then((code) => {
    finished = true;
    process.exitCode = code;
  });
}

if (require.main === module) main();
