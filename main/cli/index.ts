/** Entry point of the `coffer` command. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { toErrorInfo } from '../core/errors';
import { UsageError, type CliContext, type Subcommand } from './context';
import { decryptCommand, encryptCommand, inspectCommand, keygenCommand } from './files';
import { makeCliUI } from './tty';

const VERSION = '0.1.0';

const HELP = `coffer ${VERSION}: encrypted files and vaults

Files:
  coffer keygen [-o FILE]
  coffer encrypt [-r RECIPIENT]... [-R RECIPIENTS_FILE]... [-p] [-o OUT] [IN]
  coffer decrypt [-i IDENTITY_FILE]... [-o OUT] [IN]
  coffer inspect [--json] [IN]

Passphrases come from a terminal prompt, COFFER_PASSPHRASE, or --passphrase-file F.
IN and OUT default to stdin and stdout. With -o, output appears only when complete.
`;

const commands: Record<string, Subcommand> = {
  keygen: keygenCommand,
  encrypt: encryptCommand,
  decrypt: decryptCommand,
  inspect: inspectCommand,
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
    if (e instanceof UsageError) {
      ctx.stderr.write(`coffer: ${e.message}\n`);
      return 2;
    }
    const info = toErrorInfo(e);
    ctx.stderr.write(`coffer: ${info.message.split('\n')[0]}\n`);
    if (ctx.env.COFFER_DEBUG && e instanceof Error) ctx.stderr.write(`${e.stack ?? ''}\n`);
    return 1;
  }
}

/** Process entry: runs argv and sets the exit code. */
export function main(): void {
  // A closed stdout (e.g. `coffer decrypt | head`) is not a crash.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(1);
  });
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
