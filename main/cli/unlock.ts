/**
 * Unlock options shared by every `coffer vault` command:
 *   -i, --identity FILE       identity file (repeatable)
 *   -p, --passphrase          use a passphrase: COFFER_PASSPHRASE, else a terminal prompt
 *   --passphrase-file F       the passphrase is the first line of F
 *   --recovery-key-file F     the recovery key is in F
 * COFFER_PASSPHRASE alone (without -p) is used too. Other key providers (hardware keys, Vault
 * Transit) add their options with `registerUnlockOptions`; their identities join the list tried.
 */
import type { ParseArgsConfig } from 'node:util';
import { readIdentityFile } from '../core/keys/identity-file';
import type { Identity, ProviderUI } from '../core/keys/types';
import type { UnlockCredentials } from '../core/vault/slots';
import type { CliContext } from './context';
import { makeCliUI, readSecretFile } from './tty';

type Options = NonNullable<ParseArgsConfig['options']>;
/** Parsed option values as node:util parseArgs returns them. */
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export const UNLOCK_OPTIONS = {
  identity: { type: 'string', short: 'i', multiple: true },
  passphrase: { type: 'boolean', short: 'p' },
  'passphrase-file': { type: 'string' },
  'recovery-key-file': { type: 'string' },
} as const satisfies Options;

export const UNLOCK_USAGE = '[-i IDENTITY_FILE]... [-p | --passphrase-file F] [--recovery-key-file F]';

/** A provider's extra unlock options (e.g. `--hwkey`, `--pin-file`, `--transit-key`, `--vault-config`). */
export interface UnlockExtension {
  readonly name: string;
  readonly options: Options;
  /** Usage fragment appended to every vault command's usage line. */
  readonly usage: string;
  /** Identities from this provider's options ([] if none of them were given). */
  identities(values: OptionValues, ctx: CliContext, ui: ProviderUI): Promise<Identity[]>;
  /** Secret sources for the CLI UI (e.g. a PIN file). */
  secretSources?(values: OptionValues): { pinFile?: string };
}

const extensions: UnlockExtension[] = [];

export function registerUnlockOptions(ext: UnlockExtension): void {
  if (!extensions.some((e) => e.name === ext.name)) extensions.push(ext);
}

/** All unlock options: ours plus every registered provider's. */
export function unlockOptions(): typeof UNLOCK_OPTIONS {
  const all: Options = { ...UNLOCK_OPTIONS };
  for (const e of extensions) Object.assign(all, e.options);
  // Providers' options are parsed too; their values reach them through `OptionValues`.
  return all as typeof UNLOCK_OPTIONS;
}

export function unlockUsage(): string {
  return [UNLOCK_USAGE, ...extensions.map((e) => e.usage)].join(' ');
}

export interface Unlock {
  readonly credentials: UnlockCredentials;
  readonly ui: ProviderUI;
}

const str = (v: OptionValues[string]): string | undefined => (typeof v === 'string' ? v : undefined);

/** The UI for secrets named on the command line (passphrase file, PIN file, environment, terminal). */
export function cliUI(values: OptionValues, ctx: CliContext): ProviderUI {
  let pinFile: string | undefined;
  for (const e of extensions) pinFile ??= e.secretSources?.(values).pinFile;
  return makeCliUI({ passphraseFile: str(values['passphrase-file']), pinFile, env: ctx.env, stderr: ctx.stderr });
}

/** Reads the unlock options into credentials. Prompts only when -p asks for it and nothing supplies it. */
export async function resolveUnlock(values: OptionValues, ctx: CliContext): Promise<Unlock> {
  const ui = cliUI(values, ctx);
  const identities: Identity[] = [];
  const files = values.identity;
  for (const f of Array.isArray(files) ? files : []) if (typeof f === 'string') identities.push(...(await readIdentityFile(f)));
  for (const e of extensions) identities.push(...(await e.identities(values, ctx, ui)));
  let passphrase: string | undefined;
  const pf = str(values['passphrase-file']);
  if (pf) passphrase = readSecretFile(pf);
  else if (ctx.env.COFFER_PASSPHRASE) passphrase = ctx.env.COFFER_PASSPHRASE;
  else if (values.passphrase === true) passphrase = await ui.requestSecret({ kind: 'passphrase', prompt: 'Vault passphrase' });
  const rf = str(values['recovery-key-file']);
  const recoveryKey = rf ? readSecretFile(rf) : undefined;
  return { credentials: { identities, passphrase, recoveryKey }, ui };
}
