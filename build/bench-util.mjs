// Helpers shared by the benchmark scripts (build/bench.mjs, build/bench-vault.mjs).
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

/** `--name VALUE` from argv, or the default. */
export const option = (args, name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};

/** "1G", "256M", "4K", "1024" → bytes. */
export function parseSize(s) {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)i?B?$/i.exec(String(s));
  if (!m) throw new Error(`bad size ${s}`);
  return Math.round(Number(m[1]) * { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2].toUpperCase()]);
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs a shell command under GNU time; returns wall seconds, peak RSS in MiB, CPU seconds (user + system,
 * of the command and its children: on a busy machine the CPU time says more than the wall time), and stdout.
 */
export function measure(cmd, env = process.env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', 'sh', '-c', cmd], { encoding: 'utf8', env, maxBuffer: 256 << 20 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`command failed: ${cmd}\n${r.stderr.slice(-2000)}`);
  const [kib, user, sys] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { wall, rss: kib / 1024, cpu: user + sys, user, sys, out: r.stdout };
}

/** Writes `n` random bytes to `file`. */
export async function makeRandomFile(file, n) {
  const w = createWriteStream(file);
  let left = n;
  while (left > 0) {
    const k = Math.min(left, 8 << 20);
    if (!w.write(randomBytes(k))) await new Promise((r) => w.once('drain', r));
    left -= k;
  }
  await new Promise((r) => w.end(r));
}

/** Replaces the text between `<!-- bench:NAME:start -->` and its end marker in docs/BENCHMARKS.md. */
export function writeSection(doc, name, heading, block) {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  let text = existsSync(doc) ? readFileSync(doc, 'utf8') : '# Benchmarks\n';
  if (text.includes(start)) text = text.replace(new RegExp(`${start}[\\s\\S]*?${end}`), `${start}\n${block}\n${end}`);
  else text += `\n## ${heading}\n\n${start}\n${block}\n${end}\n`;
  writeFileSync(doc, text);
}
