/**
 * What every `coffer` subcommand receives. Subcommands are plain async functions
 * `(args: string[], ctx: CliContext) => Promise<void>`: they write results to ctx.stdout, throw a
 * CofferError on failure (exit 1, one `coffer: ` line) or a UsageError on bad arguments (exit 2).
 */
import type { Readable, Writable } from 'node:stream';
import type { ProviderUI } from '../core/keys/types';

export interface CliContext {
  readonly stdin: Readable & { isTTY?: boolean };
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable;
  readonly env: NodeJS.ProcessEnv;
  /** Asks on the controlling terminal when there is one; otherwise refuses with a clear message. */
  readonly ui: ProviderUI;
  /** Folder for client state (highest epoch seen per vault, settings): $COFFER_STATE_DIR or ~/.config/coffer. */
  readonly stateDir: string;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type Subcommand = (args: string[], ctx: CliContext) => Promise<void>;

/** Thrown when a subcommand is asked for its usage: printed on stdout with exit status 0. */
export class HelpRequest extends Error {
  constructor(readonly usage: string) {
    super('help requested');
    this.name = 'HelpRequest';
  }
}
