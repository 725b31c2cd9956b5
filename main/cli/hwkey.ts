/**
 * `coffer hwkey`: hardware keys (YubiKey PIV, any PKCS#11 token) for admins.
 *
 *   coffer hwkey list [--module PATH] [--json]
 *   coffer hwkey enroll [--module PATH] [--serial N | --token LABEL] [--slot 9d|82…95]
 *                       (--generate | --use-existing) [--label NAME] [-o IDENTITY_FILE] [--force]
 *                       [--pin-file F] [--management-key-file F] [--touch-policy always|cached|never]
 *                       [--pin-policy once|always]   (policies: YubiKey through ykcs11, with --generate)
 *
 * The PIN comes from --pin-file, COFFER_PIN or a terminal prompt; the PIV management key (only for
 * generating on a YubiKey) from --management-key-file, COFFER_PIV_MANAGEMENT_KEY or a prompt.
 */
import { readFile, stat } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { CofferError } from '../core/errors';
import { enrollHardwareKey, formatPivStubFile, listHardwareKeys, parsePivStubFile, PivP256Recipient } from '../core/keys/pkcs11-p256';
import { CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED, triesFromYkcs11Flags } from '../core/keys/pkcs11/errors';
import { isYubicoToken, type TokenSummary } from '../core/keys/pkcs11/token';
import { parse } from './args';
import { UsageError, type CliContext, type Subcommand } from './context';
import { openOutput } from './output';
import { makeCliUI, promptHidden, readSecretFile } from './tty';
import { registerUnlockOptions, type UnlockExtension } from './unlock';

const LIST_USAGE = 'usage: coffer hwkey list [--module PATH] [--json]';
const ENROLL_USAGE =
  'usage: coffer hwkey enroll [--module PATH] [--serial N | --token LABEL] [--slot 9d|82…95] (--generate | --use-existing) [--label NAME] [-o IDENTITY_FILE] [--force] [--pin-file F] [--management-key-file F] [--touch-policy always|cached|never] [--pin-policy once|always]';
const HWKEY_USAGE = `usage: coffer hwkey list|enroll …\n${LIST_USAGE}\n${ENROLL_USAGE}`;

/** What the token's flags say about its PIN, for `hwkey list`. */
function pinState(t: TokenSummary): { state: 'ok' | 'count-low' | 'final-try' | 'locked'; triesLeft: number | null; text: string | null } {
  const exact = isYubicoToken(t) ? triesFromYkcs11Flags(t.flags) : null;
  if (t.flags & CKF_USER_PIN_LOCKED) return { state: 'locked', triesLeft: 0, text: 'PIN locked: reset it with `ykman piv access unblock-pin`' };
  if (t.flags & CKF_USER_PIN_FINAL_TRY) return { state: 'final-try', triesLeft: 1, text: 'PIN: one try left (the next wrong PIN locks it)' };
  if (t.flags & CKF_USER_PIN_COUNT_LOW) return { state: 'count-low', triesLeft: exact, text: exact === null ? 'PIN: a wrong PIN was entered recently; few tries may remain' : `PIN: ${exact} tries left` };
  return { state: 'ok', triesLeft: null, text: null };
}

/** `coffer hwkey list`: tokens (label, serial, manufacturer, model) and their EC keys, read without a PIN. */
export const hwkeyListCommand: Subcommand = async (args: string[], ctx: CliContext): Promise<void> => {
  const { values, positionals } = parse(args, { module: { type: 'string' }, json: { type: 'boolean' } }, LIST_USAGE);
  if (positionals.length > 0) throw new UsageError(LIST_USAGE);
  const listing = await listHardwareKeys({ modulePath: values.module, env: ctx.env });
  if (values.json) {
    const out = {
      module: listing.modulePath,
      library: listing.module,
      tokens: listing.tokens.map((t) => ({
        label: t.label,
        serial: t.serial,
        manufacturer: t.manufacturer,
        model: t.model,
        pin: { state: pinState(t).state, triesLeft: pinState(t).triesLeft },
        keys: t.keys.map((k) => ({
          label: k.label,
          id: k.id,
          curve: k.curve,
          slot: k.pivSlot,
          source: k.source,
          fingerprint: k.fingerprint ?? null,
          recipient: k.point ? new PivP256Recipient(k.point).toString() : null,
        })),
      })),
    };
    ctx.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const lines: string[] = [`Module: ${listing.modulePath} (${listing.module.description} ${listing.module.version}, ${listing.module.manufacturer})`];
  if (listing.tokens.length === 0) lines.push('No tokens present. Insert your YubiKey (on Linux, check that pcscd is running).');
  for (const t of listing.tokens) {
    lines.push('', `Token "${t.label}": serial ${t.serial || '(none)'}, ${t.manufacturer} ${t.model}`.trimEnd());
    const pin = pinState(t).text;
    if (pin) lines.push(`  ${pin}`);
    if (t.keys.length === 0) lines.push('  no EC keys visible (generate one with: coffer hwkey enroll --generate)');
    for (const k of t.keys) {
      const slot = k.pivSlot ? `  slot ${k.pivSlot}` : '';
      lines.push(`  key "${k.label}"  id ${k.id || '-'}  ${k.curve}${slot}${k.source === 'certificate' ? '  (from certificate)' : ''}`);
      if (k.point && k.fingerprint) {
        lines.push(`    fingerprint ${k.fingerprint}`, `    recipient   ${new PivP256Recipient(k.point).toString()}`);
      }
    }
  }
  ctx.stdout.write(`${lines.join('\n')}\n`);
};

/** `coffer hwkey enroll`: generate or pick a P-256 key, print its recipient and fingerprint, write the identity stub. */
export const hwkeyEnrollCommand: Subcommand = async (args: string[], ctx: CliContext): Promise<void> => {
  const { values, positionals } = parse(
    args,
    {
      module: { type: 'string' },
      serial: { type: 'string' },
      token: { type: 'string' },
      slot: { type: 'string' },
      generate: { type: 'boolean' },
      'use-existing': { type: 'boolean' },
      label: { type: 'string' },
      output: { type: 'string', short: 'o' },
      force: { type: 'boolean' },
      'pin-file': { type: 'string' },
      'management-key-file': { type: 'string' },
      'touch-policy': { type: 'string' },
      'pin-policy': { type: 'string' },
    },
    ENROLL_USAGE,
  );
  const touch = values['touch-policy'];
  const pinPolicy = values['pin-policy'];
  if (touch !== undefined && touch !== 'always' && touch !== 'cached' && touch !== 'never') throw new UsageError(`--touch-policy is always, cached or never\n${ENROLL_USAGE}`);
  if (pinPolicy !== undefined && pinPolicy !== 'once' && pinPolicy !== 'always') throw new UsageError(`--pin-policy is once or always\n${ENROLL_USAGE}`);
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0] ?? ''}"\n${ENROLL_USAGE}`);
  if (values.generate === values['use-existing']) throw new UsageError(`choose exactly one of --generate and --use-existing\n${ENROLL_USAGE}`);
  if (values.serial !== undefined && values.token !== undefined) throw new UsageError(`choose the token by --serial or by --token, not both\n${ENROLL_USAGE}`);
  if (values.label === '') throw new UsageError('--label must not be empty');

  const ui = makeCliUI({ pinFile: values['pin-file'], env: ctx.env, stderr: ctx.stderr });
  const mkFile = values['management-key-file'];
  const requestManagementKey = async (prompt: string): Promise<string> => {
    if (mkFile) return readSecretFile(mkFile).trim();
    const fromEnv = ctx.env.COFFER_PIV_MANAGEMENT_KEY;
    if (fromEnv) return fromEnv.trim();
    try {
      return (await promptHidden(`${prompt}: `)).trim();
    } catch (e) {
      if (e instanceof CofferError && e.code === 'CANCELLED') throw e;
      throw new CofferError('USAGE', 'the PIV management key is needed but there is no terminal to ask on; use --management-key-file FILE or set COFFER_PIV_MANAGEMENT_KEY');
    }
  };

  // Open the output first: an existing file is refused before anything is generated on the token.
  const target = values.output !== undefined ? await openOutput(values.output, values.force === true, ctx.stdout) : null;
  try {
    const r = await enrollHardwareKey({
      modulePath: values.module,
      serial: values.serial,
      tokenLabel: values.token,
      slot: values.slot,
      mode: values.generate ? 'generate' : 'use-existing',
      label: values.label,
      touchPolicy: touch,
      pinPolicy,
      ui,
      requestManagementKey,
      env: ctx.env,
    });
    const stubText = formatPivStubFile(r.stub, r.token);
    const where = `${r.key.label ? `"${r.key.label}"` : 'key'}${r.stub.pivSlot ? ` (slot ${r.stub.pivSlot})` : ''} on ${r.token.displayName}`;
    ctx.stderr.write(`${r.generated ? 'Generated' : 'Using'} P-256 ${where}\n`);
    if (target) {
      target.stream.end(stubText);
      await finished(target.stream);
      await target.commit();
      ctx.stdout.write(`${r.recipient.toString()}\nfingerprint: ${r.recipient.fingerprint}\n`);
      ctx.stderr.write(`Identity stub written to ${values.output} (it holds no secret; unlocking needs the token and its PIN)\n`);
    } else {
      ctx.stdout.write(stubText);
      ctx.stderr.write(`Recipient: ${r.recipient.toString()}\nFingerprint: ${r.recipient.fingerprint}\n`);
    }
    if (r.generated) {
      ctx.stderr.write('This key cannot be exported from the token: enroll a second key or keep a recovery key for every vault you add it to.\n');
    }
  } catch (e) {
    await target?.abort();
    throw e;
  }
};

/** `coffer hwkey <list|enroll> …`: dispatches to the subcommands above. */
export const hwkeyCommand: Subcommand = async (args: string[], ctx: CliContext): Promise<void> => {
  const [sub, ...rest] = args;
  if (sub === 'list') return hwkeyListCommand(rest, ctx);
  if (sub === 'enroll') return hwkeyEnrollCommand(rest, ctx);
  if (sub === '-h' || sub === '--help' || sub === 'help') {
    ctx.stdout.write(`${HWKEY_USAGE}\n`);
    return;
  }
  throw new UsageError(sub === undefined ? HWKEY_USAGE : `unknown hwkey command "${sub}"\n${HWKEY_USAGE}`);
};

/**
 * `--hwkey RECIPIENT_OR_STUB` for `coffer vault init` and `vault grant`: a `coffer-piv1…` recipient
 * string, or the path of an identity stub written by `hwkey enroll`. Returns the recipient string
 * and a default slot label naming the token.
 */
export async function hwkeyMember(recipientOrStub: string): Promise<{ recipient: string; label: string }> {
  const t = recipientOrStub.trim();
  if (PivP256Recipient.looksLike(t)) {
    const r = PivP256Recipient.parse(t);
    return { recipient: r.toString(), label: `hardware key ${r.fingerprint}` };
  }
  const st = await stat(t).catch(() => null);
  if (!st?.isFile()) {
    throw new CofferError('BAD_RECIPIENT', `--hwkey takes a coffer-piv1… recipient or an identity stub file from \`coffer hwkey enroll -o FILE\`; "${t.slice(0, 40)}" is neither`);
  }
  if (st.size > 64 * 1024) throw new CofferError('BAD_IDENTITY_FILE', `${t} is too large to be a hardware-key stub`);
  const stub = parsePivStubFile(await readFile(t, 'utf8'));
  const who = [stub.tokenLabel, stub.serial ? `serial ${stub.serial}` : undefined, stub.pivSlot ? `slot ${stub.pivSlot}` : undefined].filter(Boolean).join(', ');
  return { recipient: stub.recipient.toString(), label: `hardware key${who ? ` (${who})` : ` ${stub.recipient.fingerprint}`}` };
}

/**
 * Unlock options added to every `coffer vault` command: `--pin-file F` (the PIN for hardware-key
 * stubs given with -i). Registered when this module is imported.
 */
export const hwkeyUnlockExtension: UnlockExtension = {
  name: 'hwkey',
  options: { 'pin-file': { type: 'string' } },
  usage: '[--pin-file F]',
  identities: () => Promise.resolve([]),
  secretSources: (values) => (typeof values['pin-file'] === 'string' ? { pinFile: values['pin-file'] } : {}),
};
registerUnlockOptions(hwkeyUnlockExtension);
