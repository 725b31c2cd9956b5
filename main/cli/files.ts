/** `coffer keygen | encrypt | decrypt | inspect`: single files, age-style. */
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { CofferError } from '../core/errors';
import { initSodium } from '../core/crypto/sodium';
import { decryptFile, decryptFileHandle, encryptFile, encryptFileHandle, readHeader } from '../core/format/file';
import { plaintextSize, chunkCount } from '../core/format/sizes';
import { MAGIC_LINE } from '../core/format/constants';
import { formatIdentityFile, readIdentityFile } from '../core/keys/identity-file';
import { PassphraseIdentity, PassphraseRecipient } from '../core/keys/passphrase';
import { parseRecipient, readRecipientsFile } from '../core/keys/recipients';
import type { Identity, Recipient } from '../core/keys/types';
import { X25519Identity } from '../core/keys/x25519';
import { parse } from './args';
import { UsageError, type CliContext } from './context';
import { explainFsError } from './fs-errors';
import { openOutput } from './output';
import { interruptible } from './signals';
import { makeCliUI } from './tty';

function openInput(path: string | undefined, ctx: CliContext): Readable {
  if (path === undefined || path === '-') return ctx.stdin;
  return createReadStream(path, { highWaterMark: 1 << 20 });
}

/** Opens IN early so that a missing file is reported before any prompt. */
async function checkInput(path: string | undefined): Promise<void> {
  if (path === undefined || path === '-') return;
  const fh = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new CofferError(e.code === 'ENOENT' ? 'NOT_FOUND' : 'IO', `cannot read ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  const st = await fh.stat();
  await fh.close();
  if (st.isDirectory()) throw new CofferError('IO', `${path} is a directory`);
}

/** Opens IN as a file handle when it is a regular file (the fast file-to-file path), else passes null. */
async function withInputFile<T>(path: string | undefined, work: (src: FileHandle | null) => Promise<T>): Promise<T> {
  if (path === undefined || path === '-') return work(null);
  const fh = await open(path, 'r');
  try {
    return await work((await fh.stat()).isFile() ? fh : null);
  } finally {
    await fh.close();
  }
}

async function run<T>(target: Awaited<ReturnType<typeof openOutput>>, work: () => Promise<T>, out?: string): Promise<T> {
  try {
    const r = await work();
    await target.commit();
    return r;
  } catch (e) {
    await target.abort();
    throw explainFsError(e, { verb: 'write', output: out === '-' ? undefined : out });
  }
}

const KEYGEN_USAGE = 'usage: coffer keygen [-o FILE]';
export async function keygenCommand(args: string[], ctx: CliContext): Promise<void> {
  const { values, positionals } = parse(args, { output: { type: 'string', short: 'o' } }, KEYGEN_USAGE);
  if (positionals.length > 0) throw new UsageError(KEYGEN_USAGE);
  await initSodium();
  const id = X25519Identity.generate();
  const text = formatIdentityFile(id);
  const recipient = id.recipient().toString();
  id.destroy();
  if (values.output) {
    const fh = await open(values.output, 'wx', 0o600).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') throw new CofferError('EXISTS', `${values.output} already exists; not overwriting an identity`);
      throw e;
    });
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    ctx.stdout.write(`${recipient}\n`);
  } else {
    ctx.stdout.write(text);
    ctx.stderr.write(`Public key: ${recipient}\n`);
  }
}

const ENCRYPT_USAGE = 'usage: coffer encrypt [-r RECIPIENT]... [-R RECIPIENTS_FILE]... [-p] [--passphrase-file F] [-o OUT] [--force] [IN]';
export async function encryptCommand(args: string[], ctx: CliContext): Promise<void> {
  const { values, positionals } = parse(args, {
    recipient: { type: 'string', short: 'r', multiple: true },
    'recipients-file': { type: 'string', short: 'R', multiple: true },
    passphrase: { type: 'boolean', short: 'p' },
    'passphrase-file': { type: 'string' },
    output: { type: 'string', short: 'o' },
    force: { type: 'boolean' },
  }, ENCRYPT_USAGE);
  if (positionals.length > 1) throw new UsageError(`too many inputs\n${ENCRYPT_USAGE}`);
  const usePass = values.passphrase === true || values['passphrase-file'] !== undefined;
  const rs = values.recipient ?? [];
  const rfs = values['recipients-file'] ?? [];
  if (!usePass && rs.length === 0 && rfs.length === 0) throw new UsageError(`give at least one -r, -R or -p\n${ENCRYPT_USAGE}`);
  await initSodium();
  const recipients: Recipient[] = rs.map(parseRecipient);
  for (const f of rfs) recipients.push(...(await readRecipientsFile(f)));
  const input = positionals[0];
  await checkInput(input);
  if (usePass) {
    const ui = makeCliUI({ passphraseFile: values['passphrase-file'], env: ctx.env, stderr: ctx.stderr });
    const pass = await ui.requestSecret({ kind: 'passphrase', prompt: 'Passphrase', confirm: true });
    recipients.push(new PassphraseRecipient(pass));
  }
  if (!values.output && ctx.stdout.isTTY) {
    throw new UsageError('refusing to write encrypted bytes to a terminal; use -o OUT or redirect stdout');
  }
  await interruptible(async (scope) => {
    const target = await openOutput(values.output, values.force === true, ctx.stdout, scope);
    const { signal } = scope;
    await run(target, () => withInputFile(input, async (src) => {
      const dst = src ? await target.openHandle() : null;
      return src && dst ? encryptFileHandle(src, dst, recipients, { durable: true, signal }) : encryptFile(openInput(input, ctx), target.stream, recipients, { signal });
    }), values.output);
  });
}

const DECRYPT_USAGE = 'usage: coffer decrypt [-i IDENTITY_FILE]... [--passphrase-file F] [-o OUT] [--force] [IN]';
export async function decryptCommand(args: string[], ctx: CliContext): Promise<void> {
  const { values, positionals } = parse(args, {
    identity: { type: 'string', short: 'i', multiple: true },
    'passphrase-file': { type: 'string' },
    'pin-file': { type: 'string' },
    passphrase: { type: 'boolean', short: 'p' },
    output: { type: 'string', short: 'o' },
    force: { type: 'boolean' },
  }, DECRYPT_USAGE);
  if (positionals.length > 1) throw new UsageError(`too many inputs\n${DECRYPT_USAGE}`);
  await initSodium();
  const identities: Identity[] = [];
  for (const f of values.identity ?? []) identities.push(...(await readIdentityFile(f)));
  const ui = makeCliUI({ passphraseFile: values['passphrase-file'], pinFile: values['pin-file'], env: ctx.env, stderr: ctx.stderr });
  // A passphrase is only asked for when the file has a passphrase stanza.
  const fixed = values['passphrase-file'] ? undefined : ctx.env.COFFER_PASSPHRASE;
  identities.push(new PassphraseIdentity(fixed === '' ? undefined : fixed));
  const input = positionals[0];
  await checkInput(input);
  // SIGINT/SIGTERM: the partial plaintext is removed at once, the decryption stops, exit 130/143.
  await interruptible(async (scope) => {
    const target = await openOutput(values.output, values.force === true, ctx.stdout, scope);
    const { signal } = scope;
    await run(target, () => withInputFile(input, async (src) => {
      const dst = src ? await target.openHandle() : null;
      return src && dst ? decryptFileHandle(src, dst, identities, ui, { durable: true, signal }) : decryptFile(openInput(input, ctx), target.stream, identities, ui, { signal });
    }), values.output);
  });
}

const INSPECT_USAGE = 'usage: coffer inspect [--json] [IN]';
export async function inspectCommand(args: string[], ctx: CliContext): Promise<void> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } }, INSPECT_USAGE);
  if (positionals.length > 1) throw new UsageError(INSPECT_USAGE);
  await checkInput(positionals[0]);
  const { header, headerBytes, rest } = await readHeader(openInput(positionals[0], ctx));
  let payloadBytes = 0;
  for await (const c of rest) payloadBytes += (c as Buffer).length;
  const plain = plaintextSize(payloadBytes);
  const info = {
    version: MAGIC_LINE,
    stanzas: header.stanzas.map((s) => ({ type: s.type, args: s.args.length, bodyBytes: s.body.byteLength })),
    headerBytes: headerBytes.length,
    payloadBytes,
    plaintextBytes: plain,
    chunks: plain === null ? null : chunkCount(plain),
  };
  if (values.json) {
    ctx.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    return;
  }
  const lines = [
    `format:     ${info.version}`,
    `recipients: ${info.stanzas.length} stanza(s): ${info.stanzas.map((s) => s.type).join(', ')}`,
    `header:     ${info.headerBytes} bytes`,
    `payload:    ${info.payloadBytes} bytes${plain === null ? ' (not a whole number of chunks: truncated or modified)' : ` = ${plain} bytes of plaintext in ${info.chunks} chunk(s) (size only; not authenticated)`}`,
  ];
  ctx.stdout.write(`${lines.join('\n')}\n`);
}
