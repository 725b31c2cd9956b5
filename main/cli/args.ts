import { parseArgs, type ParseArgsConfig } from 'node:util';
import { HelpRequest, UsageError } from './context';

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with positionals allowed and unknown options rejected as usage errors. */
export function parse<O extends Options>(args: string[], options: O, usage: string) {
  // `-h` / `--help` anywhere before `--` prints this command's usage (exit 0).
  const end = args.indexOf('--');
  if ((end < 0 ? args : args.slice(0, end)).some((a) => a === '-h' || a === '--help')) throw new HelpRequest(usage);
  try {
    return parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split('\n')[0]}\n${usage}`);
  }
}

