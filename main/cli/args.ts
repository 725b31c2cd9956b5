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
    throw new UsageError(`${explainParseError(e as NodeJS.ErrnoException)}\n${usage}`);
  }
}


/** Options people bring from other tools, with what to do instead. */
const HABITS: Record<string, string> = {
  '-a': 'coffer has no -a/--armor (an age habit): coffer files are always binary; to paste one as text, pipe it through base64',
  '--armor': 'coffer has no -a/--armor (an age habit): coffer files are always binary; to paste one as text, pipe it through base64',
};

/** node:util's parser messages in plain words: which option, and what to do instead where we know. */
function explainParseError(e: NodeJS.ErrnoException): string {
  const first = e.message.split('\n')[0] ?? '';
  const opt = /option '([^']+)'/i.exec(first)?.[1];
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && opt !== undefined) {
    const name = opt.replace(/=.*$/, '');
    return HABITS[name] ?? `unknown option ${name}`;
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && opt !== undefined) {
    if (first.includes('argument missing')) return `option ${opt.replace(/ <value>$/, '').replace(', ', '/')} needs a value`;
    // A value that starts with a dash (a negative number, say) reads as another option.
    if (first.includes('ambiguous')) return `option ${opt} was given a value starting with "-"; if that is meant, write it as ${opt}=VALUE`;
    return first;
  }
  return first;
}
