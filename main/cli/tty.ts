/**
 * The CLI's ProviderUI: secrets come from a file (--passphrase-file / --pin-file), an environment
 * variable (COFFER_PASSPHRASE / COFFER_PIN), or a prompt on the controlling terminal with echo off.
 */
import { openSync, readFileSync } from 'node:fs';
import { ReadStream, WriteStream } from 'node:tty';
import { CofferError } from '../core/errors';
import type { ProviderNotice, ProviderUI, SecretRequest } from '../core/keys/types';
import { termSafe } from './output';

export interface SecretSources {
  readonly passphraseFile?: string;
  readonly pinFile?: string;
  readonly env: NodeJS.ProcessEnv;
  readonly stderr: NodeJS.WritableStream;
}

/** First line of a secret file, without its line ending. */
export function readSecretFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CofferError('NOT_FOUND', `cannot read secret file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const line = text.split(/\r?\n/)[0] ?? '';
  if (line === '') throw new CofferError('USAGE', `secret file ${path} is empty`);
  return line;
}

/** Reads one line from /dev/tty with echo off. */
export function promptHidden(prompt: string): Promise<string> {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch {
    return Promise.reject(new CofferError('USAGE', 'no terminal to ask on'));
  }
  const input = new ReadStream(fd);
  const output = new WriteStream(fd);
  return new Promise<string>((resolve, reject) => {
    let value = '';
    const done = (err: Error | null): void => {
      input.setRawMode(false);
      input.pause();
      input.removeListener('data', onData);
      output.write('\n');
      input.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (data: Buffer): void => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(null);
        if (ch === '\u0003') return done(new CofferError('CANCELLED', 'cancelled'));
        if (ch === '\u0004' && value === '') return done(new CofferError('CANCELLED', 'cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    output.write(termSafe(prompt)); // prompts may quote a slot's label or a token's name
    input.setRawMode(true);
    input.on('data', onData);
    input.resume();
  });
}

export function makeCliUI(src: SecretSources): ProviderUI {
  return {
    async requestSecret(req: SecretRequest): Promise<string> {
      const isPin = req.kind === 'pin';
      const file = isPin ? src.pinFile : src.passphraseFile;
      if (file) return readSecretFile(file);
      const envName = isPin ? 'COFFER_PIN' : 'COFFER_PASSPHRASE';
      const fromEnv = src.env[envName];
      if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
      const how = isPin ? 'use --pin-file FILE or set COFFER_PIN' : 'use --passphrase-file FILE or set COFFER_PASSPHRASE';
      let first: string;
      try {
        first = await promptHidden(`${req.prompt}: `);
      } catch (e) {
        if (e instanceof CofferError && e.code === 'CANCELLED') throw e;
        throw new CofferError('USAGE', `a ${req.kind} is needed but there is no terminal to ask on; ${how}`);
      }
      if (first === '') throw new CofferError('USAGE', `empty ${req.kind}`);
      if (req.confirm) {
        const second = await promptHidden(`Confirm ${req.prompt.charAt(0).toLowerCase()}${req.prompt.slice(1)}: `);
        if (second !== first) throw new CofferError('USAGE', `the two ${req.kind}s did not match`);
      }
      return first;
    },
    notify(n: ProviderNotice): void {
      src.stderr.write(`${n.kind === 'touch' ? '👆 ' : ''}${termSafe(n.message)}\n`);
    },
  };
}
