/**
 * `coffer vault <op>`: the vault commands. Every command accepts the unlock options of unlock.ts.
 * Exit status: 0 success, 1 failure (one `coffer: ` line on stderr), 2 usage error.
 * `--json` output shapes are documented in docs/FORMAT.md ("coffer vault --json") and kept stable.
 */
import { initSodium } from '../core/crypto/sodium';
import { CofferError } from '../core/errors';
import { parseRecipient } from '../core/keys/recipients';
import { checkParams, DEFAULT_ARGON2, type Argon2Params } from '../core/keys/passphrase';
import type { Recipient } from '../core/keys/types';
import type { Progress } from '../core/jobs/progress';
import {
  initVault, openVault, requestAccess, type EntryInfo, type RotateResult, type Vault, type VerifyReport,
} from '../core/vault';
import { stat } from 'node:fs/promises';
import { parse } from './args';
import { explainFsError } from './fs-errors';
import { termSafe } from './output';
import { interruptible } from './signals';
import { UsageError, type CliContext, type Subcommand } from './context';
import { readSecretFile } from './tty';
import { cliUI, resolveUnlock, unlockOptions, unlockUsage, type OptionValues } from './unlock';
import { hwkeyMember } from './hwkey';
import { TRANSIT_MEMBER_OPTIONS, TRANSIT_MEMBER_USAGE, transitMembers, vaultRewrapCommand } from './transit';

const JSON_OPT = { json: { type: 'boolean' } } as const;
const KDF_OPT = { 'kdf-params': { type: 'string' } } as const;

export function usage(op: string, rest: string): string {
  return `usage: coffer vault ${op} ${rest} ${unlockUsage()}`.replace(/\s+$/, '');
}

const VAULT_HELP = `usage: coffer vault <command> DIR ... [unlock options]

  init DIR [--name NAME] [-p] [-r RECIPIENT]... [--hwkey RECIPIENT_OR_STUB]... [--json]
       [--transit-key NAME [--transit-mount M] [--strict | --anchor]]  create a vault; prints the recovery key once
  add DIR SRC... [--to VPATH]                                add files and folders (recursively)
  ls DIR [VPATH] [-l] [-R] [--json]                          list
  get DIR VPATH -o DEST [--force]                            decrypt a file or folder out (VPATH / is the whole vault)
  mkdir DIR VPATH | mv DIR FROM TO | rm DIR VPATH [-r] [--permanent]   rm moves to the trash
  versions DIR VPATH [--json]                                a file's previous versions
  restore DIR VPATH [--version N] [--json]                   an earlier version, or (without --version) from the trash
  trash DIR [--empty [--id ID]...] [--json]                  list or empty the trash
  collect DIR [--json]                                       drop versions and trash past retention, free their space
  retention DIR [--days D] [--versions N] [--json]           how long versions and trash are kept (default 30 days, 10)
  verify DIR [--repair] [--json]                             authenticate every record and blob
  members DIR [--json]                                       key slots and pending access requests
  grant DIR RECIPIENT|REQUEST_ID [--label L]                 add a member
  grant DIR --hwkey RECIPIENT_OR_STUB [--label L]            add a hardware key (see coffer hwkey enroll)
  grant DIR --transit-key NAME [--transit-mount M] [--anchor]  add a Vault Transit key slot (docs/VAULT-TRANSIT.md);
                                                             --anchor: it anchors freshness (a key dedicated to this vault)
  rewrap DIR [--json]                                        after the Transit key rotated: upgrade its stanzas
  anchor DIR (--transit [--slot ID] | --hwkey) [--json]      anchor freshness outside the folder, so a new computer
                                                             refuses an older copy (docs/SECURITY.md); --hwkey writes
                                                             to the hardware keys given with -i STUB
  revoke DIR SLOT_ID [--reencrypt]                           remove a slot, then rotate
  rotate DIR [--json]                                        new epoch (new vault key); records and content untouched
  compact DIR [--json]                                       rewrite every record into a few packs (a checkpoint); done automatically
  passwd DIR [--new-passphrase-file F]                       change (or add) the passphrase
  export DIR VPATH (-r RECIPIENT)... -o OUT                  one file out as a standalone coffer file
  request-access DIR RECIPIENT --name NAME                   ask a member to grant you access
  serve DIR [--port N] [--read-only] [--password-file F]     the vault as a WebDAV drive on 127.0.0.1 (until Ctrl-C)

Unlock options (every command): ${unlockUsage()}
  -p uses COFFER_PASSPHRASE or asks on the terminal; --passphrase-file F reads its first line.
  --kdf-params OPS:MEMKIB sets Argon2id cost for new passphrases (default ${DEFAULT_ARGON2.opsLimit}:${DEFAULT_ARGON2.memKiB}).
`;

export function needDir(positionals: string[], use: string): string {
  const dir = positionals[0];
  if (dir === undefined) throw new UsageError(`missing vault folder DIR\n${use}`);
  return dir;
}

function parseKdf(v: unknown): Argon2Params | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+):(\d+)$/.exec(v);
  if (!m) throw new UsageError('--kdf-params takes OPS:MEMKIB, e.g. 3:65536');
  const params = { opsLimit: Number(m[1]), memKiB: Number(m[2]) };
  checkParams(params); // before anything is created or asked for
  return params;
}

export function out(ctx: CliContext, text: string): void {
  ctx.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function json(ctx: CliContext, value: unknown): void {
  ctx.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function formatBytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${u[i]}`;
}

/** Progress on stderr, only when it is a terminal. */
function progressPrinter(ctx: CliContext, verb: string): ((p: Progress) => void) | undefined {
  const tty = (ctx.stderr as NodeJS.WriteStream).isTTY === true;
  if (!tty) return undefined;
  return (p) => {
    const eta = p.etaSeconds === null ? '' : `, ${p.etaSeconds}s left`;
    ctx.stderr.write(`\r${verb} ${p.filesDone}/${p.filesTotal} files, ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)} (${formatBytes(p.bytesPerSecond)}/s${eta})   `);
  };
}

function endProgress(ctx: CliContext): void {
  if ((ctx.stderr as NodeJS.WriteStream).isTTY === true) ctx.stderr.write('\n');
}

/** What each command does to a vault, for error messages ("cannot VERB the vault DIR: …"). */
const VERBS: Record<string, string> = {
  add: 'add files to', ls: 'read', get: 'read', mkdir: 'create a folder in', mv: 'move entries in', rm: 'remove entries from',
  verify: 'check', members: 'read', grant: 'add a member to', revoke: 'revoke a member of', rotate: 'rotate the keys of', compact: 'compact',
  passwd: 'change the passphrase of', export: 'read', rewrap: 'rewrap', anchor: 'anchor',
};
let currentOp = '';

/** A vault folder that does not exist (or is not a folder) is said to be so, not "not a coffer vault". */
async function checkVaultDir(dir: string): Promise<void> {
  const st = await stat(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw new CofferError('NOT_FOUND', `${dir} does not exist`);
    if (e.code === 'ENOTDIR') throw new CofferError('NOT_FOUND', `${dir} does not exist (a part of the path is a file)`);
    throw explainFsError(e, { verb: 'open', vaultDir: dir });
  });
  if (!st.isDirectory()) throw new CofferError('VAULT_INVALID', `${dir} is a file, not a vault folder`);
}

/**
 * Opens the vault, runs `fn`, locks. `verb` says what the command does to the vault ("add files to"),
 * so a file-system failure inside it reads "cannot add files to the vault V: permission denied", not
 * the name of an internal lock or temporary file; `output` marks -o paths the same way.
 */
export async function withVault<T>(dir: string, values: OptionValues, ctx: CliContext, fn: (v: Vault) => Promise<T>, action: { verb: string; output?: string } = { verb: VERBS[currentOp] ?? 'use' }): Promise<T> {
  await initSodium();
  await checkVaultDir(dir);
  const { credentials, ui } = await resolveUnlock(values, ctx);
  try {
    const vault = await openVault(dir, { credentials, ui, stateDir: ctx.stateDir });
    // First open on this computer: a rollback to an older copy cannot be ruled out (docs/ARCHITECTURE.md),
    // unless a freshness anchor confirmed it; and anchors that could not be read or updated.
    let shown = 0;
    const warn = (): void => {
      for (const w of vault.warnings.slice(shown)) ctx.stderr.write(`coffer: warning: ${termSafe(w)}\n`);
      shown = vault.warnings.length;
    };
    warn();
    try {
      return await fn(vault);
    } finally {
      warn();
      vault.lock();
    }
  } catch (e) {
    throw explainFsError(e, { verb: action.verb, vaultDir: dir, output: action.output });
  }
}

/** Reports load problems (tampered records, conflicts) on stderr without failing the command. */
function warnProblems(ctx: CliContext, v: Vault): void {
  for (const p of v.problems) {
    if (p.severity === 'info') continue;
    ctx.stderr.write(`coffer: ${p.severity}: ${termSafe(p.path ?? p.object)}: ${termSafe(p.message)}\n`);
  }
}

function entryLine(e: EntryInfo, long: boolean): string {
  const name = termSafe(e.type === 'dir' ? `${e.path}/` : e.path);
  const mark = e.conflict ? `  [conflict: ${e.conflict.source}]` : '';
  if (!long) return `${name}${mark}`;
  return `${e.type === 'dir' ? 'd' : '-'} ${String(e.size).padStart(12)}  ${e.mtime}  v${e.version}  ${name}${mark}`;
}

function rotateText(r: RotateResult): string {
  return `epoch ${r.epoch}: new vault key for ${r.slots} slots; ${r.records} records carried over${r.blobsReencrypted ? `, ${r.blobsReencrypted} files re-encrypted` : ', records and content untouched'} (${r.ms} ms)`;
}

/* ---------------------------------------------------------------- commands */

async function cmdInit(args: string[], ctx: CliContext): Promise<void> {
  const use = `usage: coffer vault init DIR [--name NAME] [-p | --passphrase-file F] [-r RECIPIENT]... [--hwkey RECIPIENT_OR_STUB]... ${TRANSIT_MEMBER_USAGE} [--anchor] [--kdf-params OPS:MEMKIB] [--json]`;
  const { values, positionals } = parse(args, {
    ...unlockOptions(), ...JSON_OPT, ...KDF_OPT, ...TRANSIT_MEMBER_OPTIONS,
    name: { type: 'string' },
    recipient: { type: 'string', short: 'r', multiple: true },
    hwkey: { type: 'string', multiple: true },
    label: { type: 'string' },
    anchor: { type: 'boolean' },
  }, use);
  const dir = needDir(positionals, use);
  if (positionals.length > 1) throw new UsageError(use);
  if (values.anchor === true && typeof values['transit-key'] !== 'string') throw new UsageError(`--anchor goes with --transit-key NAME (a Transit key dedicated to this vault)\n${use}`);
  const kdf = parseKdf(values['kdf-params']);
  await initSodium();
  const wantPass = values.passphrase === true || values['passphrase-file'] !== undefined;
  const recipients: { recipient: string; label?: string }[] = (values.recipient ?? []).map((r) => ({ recipient: r }));
  for (const h of values.hwkey ?? []) recipients.push(await hwkeyMember(h));
  const transit = transitMembers(values, ctx);
  recipients.push(...transit.recipients);
  if (!wantPass && recipients.length === 0) throw new UsageError(`a vault needs a passphrase (-p) or a member recipient (-r)\n${use}`);
  for (const r of recipients) parseRecipient(r.recipient); // fail before anything is written
  let passphrase: string | undefined;
  if (wantPass) {
    const ui = cliUI(values, ctx);
    passphrase = await ui.requestSecret({ kind: 'passphrase', prompt: 'New vault passphrase', confirm: true });
  }
  const { vault, recoveryKey } = await initVault(dir, {
    name: values.name, passphrase, recipients, stateDir: ctx.stateDir, kdf, strict: transit.strict,
  }).catch((e: unknown) => {
    throw explainFsError(e, { verb: 'create', vaultDir: dir });
  });
  try {
    const anchored = values.anchor === true ? await vault.anchorTransit() : null;
    const m = await vault.members();
    if (values.json) {
      json(ctx, { vault: vault.id, name: vault.name, dir, epoch: vault.epoch, recoveryKey, slots: m.slots, ...(anchored ? { anchor: anchored.anchor } : {}) });
      return;
    }
    out(ctx, `Created vault "${termSafe(vault.name)}" (${vault.id}) in ${termSafe(dir)}`);
    for (const s of m.slots) out(ctx, `  slot ${s.id}  ${termSafe(s.type).padEnd(10)}  ${termSafe(s.fingerprint)}  ${termSafe(s.label)}`);
    if (vault.strict) out(ctx, `Strict mode: every file key is also wrapped by ${vault.strict}; each file open asks Vault (docs/VAULT-TRANSIT.md).`);
    if (anchored) out(ctx, anchorText(anchored.anchor.key, anchored.anchor.version, anchored.epoch));
    out(ctx, '\nRecovery key (write it down and keep it safe; it is shown only this once):\n');
    out(ctx, `    ${recoveryKey}\n`);
  } finally {
    vault.lock();
  }
}

async function cmdAdd(args: string[], ctx: CliContext): Promise<void> {
  const use = usage('add', 'DIR SRC... [--to VPATH] [--json]');
  const { values, positionals } = parse(args, { ...unlockOptions(), ...JSON_OPT, to: { type: 'string' } }, use);
  const dir = needDir(positionals, use);
  const sources = positionals.slice(1);
  if (sources.length === 0) throw new UsageError(`nothing to add\n${use}`);
  // SIGINT/SIGTERM: the add is cancelled and cleans up (staged blobs, its intent); only complete entries stay.
  await interruptible(async ({ signal }) => {
    await withVault(dir, values, ctx, async (v) => {
      const r = await v.add(sources, values.to ?? '', { signal, onProgress: progressPrinter(ctx, 'adding') });
      endProgress(ctx);
      if (values.json) json(ctx, r);
      else out(ctx, `added ${r.files} files (${formatBytes(r.bytes)}) and ${r.folders} folders${r.replaced ? `; ${r.replaced} replaced by a new version` : ''}`);
      for (const s of r.skipped) ctx.stderr.write(`coffer: skipped ${termSafe(s)} (not a regular file or folder, or a name a vault cannot hold)\n`);
    }, { verb: 'add files to' });
  });
}

async function cmdLs(args: string[], ctx: CliContext): Promise<void> {
  const use = usage('ls', 'DIR [VPATH] [-l] [-R] [--json]');
  const { values, positionals } = parse(args, {
    ...unlockOptions(), ...JSON_OPT, long: { type: 'boolean', short: 'l' }, recursive: { type: 'boolean', short: 'R' },
  }, use);
  const dir = needDir(positionals, use);
  if (positionals.length > 2) throw new UsageError(use);
  await withVault(dir, values, ctx, async (v) => {
    const list = v.list(positionals[1] ?? '', { recursive: values.recursive === true });
    if (values.json) json(ctx, list);
    else if (list.length > 0) ctx.stdout.write(`${list.map((e) => entryLine(e, values.long === true)).join('\n')}\n`);
    warnProblems(ctx, v);
    const errors = v.problems.filter((x) => x.severity === 'error').length;
    if (errors > 0) throw new CofferError('VAULT_TAMPERED', `${errors} object${errors === 1 ? '' : 's'} of vault ${v.name} failed checks and ${errors === 1 ? 'is' : 'are'} not listed; run coffer vault verify`);
    return Promise.resolve();
  });
}

async function cmdGet(args: string[], ctx: CliContext): Promise<void> {
  const use = usage('get', 'DIR VPATH -o DEST [--force]');
  const { values, positionals } = parse(args, { ...unlockOptions(), output: { type: 'string', short: 'o' }, force: { type: 'boolean' } }, use);
  const dir = needDir(positionals, use);
  const vpath = positionals[1];
  if (vpath === undefined) throw new UsageError(`say what to get: a path in the vault, or / for all of it\n${use}`);
  if (positionals.length > 2) throw new UsageError(`too many arguments (get takes one vault path; use a folder, or / for everything)\n${use}`);
  if (!values.output) throw new UsageError(`-o DEST is required: the file or folder to write to (it must not exist yet, unless --force)\n${use}`);
  // SIGINT/SIGTERM: the get is cancelled and removes its partial files; complete files stay.
  await interruptible(async ({ signal }) => {
    await withVault(dir, values, ctx, async (v) => {
      const r = await v.get(vpath, values.output as string, { overwrite: values.force === true, signal, onProgress: progressPrinter(ctx, 'decrypting') });
      endProgress(ctx);
      for (const x of r.renamed) {
        const why = x.reason === 'case-collision' ? 'another name differs only in case here' : 'not a valid name on this system';
        ctx.stderr.write(`note: ${termSafe(x.path)} written as ${termSafe(x.written)} (${why})\n`);
      }
      ctx.stderr.write(`wrote ${r.files} file${r.files === 1 ? '' : 's'} (${formatBytes(r.bytes)})\n`);
    }, { verb: 'read', output: values.output as string });
  });
}

async function cmdMkdir(args: string[], ctx: CliContext): Promise<void> {
  const use = usage('mkdir', 'DIR VPATH');
  const { values, positionals } = parse(args, { ...unlockOptions() }, use);
  const dir = needDir(positionals, use);
  if (positionals.length !== 2) throw new UsageError(use);
  await withVault(dir, values, ctx, async (v) => {
    await v.mkdir(positionals[1] as string);
  });
}

async function cmdMv(args: string[], ctx: CliContext): Promise<void> {
  const use = usage('mv', 'DIR FROM TO');
  const { values, positionals } = parse(args, { ...unlockOptions() }, use);
  const dir = needDir(positionals, use);
  if (positionals.length !== 3) throw new UsageError(use);
  await withVault(dir, values, ctx, async (v) => {
    await v.mv(positionals[1] as string, positionals[2] as string);
  });
}

async function cmdRm(args: string[], ctx: CliContext): Promise<void> {
  const use = usage('rm', 'DIR VPATH [-r] [--permanent]');
  const { values, positionals } = parse(args, { ...unlockOptions(), recursive: { type: 'boolean', short: 'r' }, permanent: { type: 'boolean' } }, use);
  const dir = needDir(positionals, use);
  if (positionals.length !== 2) throw new UsageError(use);
  await withVault(dir, values, ctx, async (v) => {
    // To the trash (coffer vault restore brings it back), unless --permanent.
    await v.rm(positionals[1] as string, { recursive: values.recursive === true, permanent: values.permanent === true });
  });
}

function verifyText(r: VerifyReport): string {
  const lines = r.problems.filter((p) => p.severity !== 'info').map((p) => `${p.severity}: ${termSafe(p.path ?? p.object)}: ${termSafe(p.message)}${p.repairable ? ' (--repair removes it)' : ''}`);
  const stale = r.problems.filter((p) => p.code === 'STALE_EPOCH').length;
  if (stale > 0) lines.push(`info: ${stale} records are still under an older epoch (an interrupted rotation); run coffer vault rotate`);
  for (const x of r.repaired) lines.push(`repaired: removed ${termSafe(x)}`);
  lines.push(`${r.ok ? 'ok' : 'FAILED'}: ${r.records} records, ${r.blobs} blobs, ${r.bytes} bytes checked`);
  return lines.join('\n');
}

async function cmdVerify(args: string[], ctx: CliContext): Promise<void> {
  const use = usage('verify', 'DIR [--repair] [--json]');
  const { values, positionals } = parse(args, { ...unlockOptions(), ...JSON_OPT, repair: { type: 'boolean' } }, use);
  const dir = needDir(positionals, use);
  if (positionals.length !== 1) throw new UsageError(use);
  await withVault(dir, values, ctx, async (v) => {
    const r = await v.verify({ repair: values.repair === true, onProgress: progressPrinter(ctx, 'verifying') });
    endProgress(ctx);
    if (values.json) json(ctx, r);
    else out(ctx, verifyText(r));
    if (!r.ok) {
      const errors = r.problems.filter((p) => p.severity === 'error').length;
      const fix = r.problems.some((p) => p.repairable) ? '; run with --repair to remove leftovers' : '';
      throw new CofferError('VAULT_TAMPERED', `vault ${v.name} has ${errors} problem${errors === 1 ? '' : 's'}${fix}`);
    }
  });
}

async function cmdMembers(args: string[], ctx: CliContext): Promise<void> {
  const use = usage('members', 'DIR [--json]');
  const { values, positionals } = parse(args, { ...unlockOptions(), ...JSON_OPT }, use);
  const dir = needDir(positionals, use);
  if (positionals.length !== 1) throw new UsageError(use);
  await withVault(dir, values, ctx, async (v) => {
    const m = await v.members();
    const anchor = v.transitAnchor;
    if (values.json) {
      json(ctx, { vault: v.id, name: v.name, epoch: v.epoch, ...m, anchor: anchor ? { transit: anchor } : null });
      return;
    }
    out(ctx, `vault "${termSafe(v.name)}" (${v.id}), epoch ${v.epoch}`);
    if (anchor) out(ctx, `freshness anchor: Vault Transit key ${termSafe(anchor.key)} (slot ${anchor.slot}, version ${anchor.version})`);
    out(ctx, 'slots:');
    for (const s of m.slots) {
      out(ctx, `  ${termSafe(s.id)}  ${termSafe(s.type).padEnd(12)}  ${termSafe(s.fingerprint).padEnd(19)}  ${termSafe(s.created)}  ${termSafe(s.label)}${s.current ? '  (you)' : ''}${s.status === 'unconfirmed' ? '  [unconfirmed: granted during a revocation; run grant again to confirm]' : ''}`);
    }
    if (m.requests.length > 0) {
      out(ctx, 'pending access requests (approve with: coffer vault grant DIR REQUEST_ID):');
      for (const r of m.requests) out(ctx, `  ${termSafe(r.id)}  ${termSafe(r.fingerprint)}  ${termSafe(r.created)}  ${termSafe(r.name)}  ${termSafe(r.recipient)}`);
    }
  });
}

async function cmdGrant(args: string[], ctx: CliContext): Promise<void> {
  const use = usage('grant', 'DIR (RECIPIENT|REQUEST_ID | --hwkey RECIPIENT_OR_STUB | --transit-key NAME [--transit-mount M] [--anchor]) [--label L] [--json]');
  const { values, positionals } = parse(args, { ...unlockOptions(), ...JSON_OPT, ...TRANSIT_MEMBER_OPTIONS, label: { type: 'string' }, hwkey: { type: 'string' }, anchor: { type: 'boolean' } }, use);
  const dir = needDir(positionals, use);
  if (values.strict) throw new UsageError(`--strict is chosen at init\n${use}`);
  const tm = transitMembers(values, ctx).recipients[0];
  if (values.anchor === true && !tm) throw new UsageError(`--anchor goes with --transit-key NAME (a Transit key dedicated to this vault)\n${use}`);
  if (positionals.length !== (values.hwkey === undefined && !tm ? 2 : 1)) throw new UsageError(use);
  const hw = values.hwkey === undefined ? tm : await hwkeyMember(values.hwkey);
  await withVault(dir, values, ctx, async (v) => {
    const s = await v.grant(hw ? hw.recipient : (positionals[1] as string), { label: values.label ?? hw?.label });
    const a = values.anchor === true ? await v.anchorTransit(s.id) : null;
    if (values.json) json(ctx, a ? { ...s, anchor: a.anchor, epoch: a.epoch } : s);
    else {
      out(ctx, `granted: slot ${s.id} (${termSafe(s.type)}, fingerprint ${termSafe(s.fingerprint)}) "${termSafe(s.label)}"`);
      if (a) out(ctx, anchorText(a.anchor.key, a.anchor.version, a.epoch));
    }
  });
}

const REVOKE_WHY = 'The removed key can no longer open the vault or read anything added from now on. It may still\n'
  + 'read files it opened before (their file keys could have been kept); --reencrypt re-encrypts all content\n'
  + 'under new file keys to close that too.';

async function cmdRevoke(args: string[], ctx: CliContext): Promise<void> {
  const use = usage('revoke', 'DIR SLOT_ID [--reencrypt] [--json]');
  const { values, positionals } = parse(args, { ...unlockOptions(), ...JSON_OPT, reencrypt: { type: 'boolean' } }, use);
  const dir = needDir(positionals, use);
  if (positionals.length !== 2) throw new UsageError(use);
  await withVault(dir, values, ctx, async (v) => {
    const r = await v.revoke(positionals[1] as string, { reencrypt: values.reencrypt === true, onProgress: progressPrinter(ctx, 're-encrypting') });
    endProgress(ctx);
    if (values.json) {
      json(ctx, { revoked: positionals[1], reencrypted: values.reencrypt === true, ...r });
      return;
    }
    out(ctx, `revoked slot ${positionals[1] as string}; ${rotateText(r)}`);
    out(ctx, values.reencrypt ? 'All content was re-encrypted under new file keys: the removed key can read nothing in this vault.'
      : REVOKE_WHY);
  });
}

async function cmdRotate(args: string[], ctx: CliContext): Promise<void> {
  const use = usage('rotate', 'DIR [--json]');
  const { values, positionals } = parse(args, { ...unlockOptions(), ...JSON_OPT }, use);
  const dir = needDir(positionals, use);
  if (positionals.length !== 1) throw new UsageError(use);
  await withVault(dir, values, ctx, async (v) => {
    const r = await v.rotate();
    if (values.json) json(ctx, r);
    else out(ctx, rotateText(r));
  });
}

async function cmdCompact(args: string[], ctx: CliContext): Promise<void> {
  const use = usage('compact', 'DIR [--json]');
  const { values, positionals } = parse(args, { ...unlockOptions(), ...JSON_OPT }, use);
  const dir = needDir(positionals, use);
  if (positionals.length !== 1) throw new UsageError(use);
  await withVault(dir, values, ctx, async (v) => {
    const r = await v.compact();
    if (values.json) json(ctx, r);
    else out(ctx, `compacted: ${r.records} records in ${r.packs} pack${r.packs === 1 ? '' : 's'}; ${r.removed} older object${r.removed === 1 ? '' : 's'} removed`);
  });
}

function anchorText(key: string, version: number, epoch: string): string {
  return `anchored: epoch ${epoch}; Vault Transit key ${termSafe(key)} now decrypts only version ${version} and later.\n`
    + 'Every rotation and revocation will rotate it again; a computer opening an older copy of this folder refuses it.\n'
    + 'Use this key for this vault only. The anchor is permanent (that slot can no longer be revoked).';
}

async function cmdAnchor(args: string[], ctx: CliContext): Promise<void> {
  const use = usage('anchor', 'DIR (--transit [--slot SLOT_ID] | --hwkey) [--json]');
  const { values, positionals } = parse(args, { ...unlockOptions(), ...JSON_OPT, transit: { type: 'boolean' }, hwkey: { type: 'boolean' }, slot: { type: 'string' } }, use);
  const dir = needDir(positionals, use);
  if (positionals.length !== 1 || (values.transit === true) === (values.hwkey === true)) throw new UsageError(`say what anchors the vault: --transit (its Vault Transit slot) or --hwkey (the hardware keys given with -i)\n${use}`);
  if (values.slot !== undefined && values.transit !== true) throw new UsageError(`--slot goes with --transit\n${use}`);
  await withVault(dir, values, ctx, async (v) => {
    if (values.transit === true) {
      const r = await v.anchorTransit(values.slot);
      if (values.json) json(ctx, { anchored: 'transit', epoch: r.epoch, anchor: r.anchor });
      else out(ctx, anchorText(r.anchor.key, r.anchor.version, r.epoch));
      return;
    }
    const tokens = await v.anchorHardware();
    if (values.json) json(ctx, { anchored: 'hwkey', epoch: v.epoch, tokens });
    else out(ctx, `anchored: epoch ${v.epoch} recorded on ${tokens.map((t) => termSafe(t)).join(', ')}; revocations and rotations made with the token present update it, and opening with it refuses an older copy`);
  });
}

async function cmdPasswd(args: string[], ctx: CliContext): Promise<void> {
  const use = usage('passwd', 'DIR [--new-passphrase-file F] [--slot SLOT_ID] [--kdf-params OPS:MEMKIB]');
  const { values, positionals } = parse(args, { ...unlockOptions(), ...KDF_OPT, 'new-passphrase-file': { type: 'string' }, slot: { type: 'string' } }, use);
  const dir = needDir(positionals, use);
  if (positionals.length !== 1) throw new UsageError(use);
  const kdf = parseKdf(values['kdf-params']);
  await withVault(dir, values, ctx, async (v) => {
    let next: string;
    if (values['new-passphrase-file']) next = readSecretFile(values['new-passphrase-file']);
    else if (ctx.env.COFFER_NEW_PASSPHRASE) next = ctx.env.COFFER_NEW_PASSPHRASE;
    else next = await cliUI({}, { ...ctx, env: { ...ctx.env, COFFER_PASSPHRASE: undefined } }).requestSecret({ kind: 'passphrase', prompt: 'New vault passphrase', confirm: true });
    const s = await v.passwd(next, { kdf, slotId: values.slot });
    out(ctx, `passphrase of slot ${s.id} set; no content was re-encrypted`);
  });
}

async function cmdExport(args: string[], ctx: CliContext): Promise<void> {
  const use = usage('export', 'DIR VPATH (-r RECIPIENT)... -o OUT [--force]');
  const { values, positionals } = parse(args, {
    ...unlockOptions(), recipient: { type: 'string', short: 'r', multiple: true }, output: { type: 'string', short: 'o' }, force: { type: 'boolean' },
  }, use);
  const dir = needDir(positionals, use);
  if (positionals.length !== 2 || !values.output || (values.recipient ?? []).length === 0) throw new UsageError(use);
  await initSodium();
  const recipients: Recipient[] = (values.recipient ?? []).map((r) => parseRecipient(r));
  await withVault(dir, values, ctx, async (v) => {
    const r = await v.export(positionals[1] as string, recipients, values.output as string, { overwrite: values.force === true });
    ctx.stderr.write(`exported ${termSafe(positionals[1] as string)} to ${termSafe(values.output as string)} (${formatBytes(r.bytes)}; payload copied, not re-encrypted)\n`);
  }, { verb: 'read', output: values.output as string });
}

async function cmdRequestAccess(args: string[], ctx: CliContext): Promise<void> {
  const use = 'usage: coffer vault request-access DIR RECIPIENT --name NAME [--json]';
  const { values, positionals } = parse(args, { ...JSON_OPT, name: { type: 'string' } }, use);
  const dir = needDir(positionals, use);
  if (positionals.length !== 2 || !values.name) throw new UsageError(use);
  await checkVaultDir(dir);
  const r = await requestAccess(dir, positionals[1] as string, values.name).catch((e: unknown) => {
    throw explainFsError(e, { verb: 'leave a request in', vaultDir: dir });
  });
  if (values.json) json(ctx, r);
  else out(ctx, `access request ${r.id} left in ${termSafe(dir)} for "${termSafe(r.name)}" (fingerprint ${r.fingerprint}); a member approves it with: coffer vault grant ${termSafe(dir)} ${r.id}`);
}

const ops: Record<string, Subcommand> = {
  init: cmdInit,
  add: cmdAdd,
  ls: cmdLs,
  get: cmdGet,
  mkdir: cmdMkdir,
  mv: cmdMv,
  rm: cmdRm,
  verify: cmdVerify,
  members: cmdMembers,
  grant: cmdGrant,
  revoke: cmdRevoke,
  rotate: cmdRotate,
  compact: cmdCompact,
  passwd: cmdPasswd,
  export: cmdExport,
  'request-access': cmdRequestAccess,
  rewrap: vaultRewrapCommand,
  anchor: cmdAnchor,
  serve: async (args, ctx) => (await import('./serve')).serveCommand(args, ctx),
  versions: async (args, ctx) => (await import('./versions')).cmdVersions(args, ctx),
  restore: async (args, ctx) => (await import('./versions')).cmdRestore(args, ctx),
  trash: async (args, ctx) => (await import('./versions')).cmdTrash(args, ctx),
  collect: async (args, ctx) => (await import('./versions')).cmdCollect(args, ctx),
  retention: async (args, ctx) => (await import('./versions')).cmdRetention(args, ctx),
};

/** `coffer vault <op> …` */
export const vaultCommand: Subcommand = async (args, ctx) => {
  const [op, ...rest] = args;
  if (op === undefined || op === '-h' || op === '--help' || op === 'help') {
    if (op === undefined) throw new UsageError(VAULT_HELP.trimEnd());
    ctx.stdout.write(VAULT_HELP);
    return;
  }
  const fn = ops[op];
  if (!fn) throw new UsageError(`unknown vault command "${op}"\n${VAULT_HELP.trimEnd()}`);
  currentOp = op;
  await fn(rest, ctx);
};
