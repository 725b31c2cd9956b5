/** `coffer vault versions | restore | trash | collect | retention` and `rm` to the trash, through the built CLI. */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCoffer, tempDir, type CliResult } from '../helpers/cli';

vi.setConfig({ testTimeout: 180_000 });

const tmp = tempDir('coffer-versions-cli-');
afterAll(() => tmp.cleanup());
const p = (n: string): string => path.join(tmp.dir, n);
const V = p('vault');
const env = { COFFER_STATE_DIR: p('state') };
const PASS = ['--passphrase-file', p('pass')];

const run = (args: string[]): Promise<CliResult> => runCoffer(['vault', ...args], { env });

function ok(r: CliResult): string {
  expect(r.stderr.split('\n').filter((l) => l.startsWith('coffer:')), r.stderr).toEqual([]);
  expect(r.code).toBe(0);
  return r.stdout.toString();
}

function failsWith(r: CliResult, code: number, pattern: RegExp): void {
  expect(r.code).toBe(code);
  const lines = r.stderr.trimEnd().split('\n').filter((l) => l.startsWith('coffer: '));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stdout.toString()).toBe('');
}

async function put(name: string, content: string, to = ''): Promise<void> {
  const f = p(`src/${name}`);
  mkdirSync(path.dirname(f), { recursive: true });
  writeFileSync(f, content);
  ok(await run(['add', V, f, ...(to ? ['--to', to] : []), ...PASS]));
}

beforeAll(async () => {
  writeFileSync(p('pass'), 'correct horse battery staple\n');
  ok(await run(['init', V, ...PASS, '--kdf-params', '1:8']));
});

describe('coffer vault versions / restore', () => {
  it('lists previous versions (text and --json), restores one, and the restore itself can be undone', async () => {
    await put('report.txt', 'draft 1');
    await put('report.txt', 'draft two');
    await put('report.txt', 'broken');
    const j = JSON.parse(ok(await run(['versions', V, 'report.txt', '--json', ...PASS]))) as { version: number; size: number; current: boolean; replaced: string | null; expires: string | null }[];
    expect(j.map((x) => [x.version, x.size, x.current])).toEqual([[3, 6, true], [2, 9, false], [1, 7, false]]);
    expect(j[0]?.replaced).toBeNull();
    expect(Date.parse(j[1]?.expires as string) - Date.parse(j[1]?.replaced as string)).toBe(30 * 86_400_000);
    const text = ok(await run(['versions', V, 'report.txt', ...PASS]));
    expect(text.split('\n')[0]).toMatch(/^v3\s+6 B .*current$/);
    expect(text).toMatch(/^v1\s+7 B .*replaced .* kept until /m);
    const r = JSON.parse(ok(await run(['restore', V, 'report.txt', '--version', '2', '--json', ...PASS]))) as { path: string; version: number; size: number };
    expect(r).toMatchObject({ path: 'report.txt', version: 4, size: 9 });
    ok(await run(['get', V, 'report.txt', '-o', p('out-r.txt'), ...PASS]));
    expect(readFileSync(p('out-r.txt'), 'utf8')).toBe('draft two');
    expect(ok(await run(['restore', V, 'report.txt', '--version', '3', ...PASS]))).toMatch(/^report\.txt: version 3 is current again/);
    ok(await run(['get', V, 'report.txt', '-o', p('out-r2.txt'), ...PASS]));
    expect(readFileSync(p('out-r2.txt'), 'utf8')).toBe('broken');
  });

  it('typed errors: no such version, a folder, a live file without --version, bad numbers', async () => {
    failsWith(await run(['restore', V, 'report.txt', '--version', '99', ...PASS]), 1, /report\.txt has no version 99/);
    failsWith(await run(['restore', V, 'report.txt', ...PASS]), 1, /not in the trash; to go back to an earlier version give --version N/);
    failsWith(await run(['restore', V, 'nothing.txt', ...PASS]), 1, /neither in vault .* nor in its trash/);
    failsWith(await run(['versions', V, 'nothing.txt', ...PASS]), 1, /no such file/);
    ok(await run(['mkdir', V, 'folder', ...PASS]));
    failsWith(await run(['versions', V, 'folder', ...PASS]), 1, /is a folder; versions are kept per file/);
    const u = await run(['restore', V, 'report.txt', '--version', 'two', ...PASS]);
    expect(u.code).toBe(2);
    expect(u.stderr).toMatch(/--version takes a whole number/);
    expect((await run(['versions', V, ...PASS])).code).toBe(2);
  });
});

describe('coffer vault rm / trash / restore', () => {
  it('rm goes to the trash; restore brings files and folders back; trash --empty after confirmation-free --json', async () => {
    await put('a.txt', 'A', 'docs/sub');
    await put('b.txt', 'B');
    ok(await run(['rm', V, 'docs', '-r', ...PASS]));
    ok(await run(['rm', V, 'b.txt', ...PASS]));
    const ls = JSON.parse(ok(await run(['ls', V, '-R', '--json', ...PASS]))) as { path: string }[];
    expect(ls.map((e) => e.path)).not.toContain('b.txt');
    const t = JSON.parse(ok(await run(['trash', V, '--json', ...PASS]))) as { retention: { days: number; versions: number }; entries: { id: string; path: string; type: string; files: number; size: number }[] };
    expect(t.retention).toEqual({ days: 30, versions: 10 });
    expect(t.entries.map((e) => [e.path, e.type, e.files, e.size])).toEqual([['b.txt', 'file', 1, 1], ['docs', 'dir', 1, 1]]);
    const text = await run(['trash', V, ...PASS]);
    expect(text.stdout.toString()).toMatch(/^[0-9a-f]{32} {2}deleted .*docs\/ \(1 file\)/m);
    expect(text.stderr).toMatch(/kept 30 days/);
    expect(ok(await run(['restore', V, 'docs', ...PASS]))).toBe('docs: restored from the trash\n');
    ok(await run(['get', V, 'docs/sub/a.txt', '-o', p('a.out'), ...PASS]));
    expect(readFileSync(p('a.out'), 'utf8')).toBe('A');
    const blobsBefore = readdirSync(path.join(V, 'blobs')).length;
    const e = JSON.parse(ok(await run(['trash', V, '--empty', '--json', ...PASS]))) as { emptied: number; blobs: number; pending: number };
    expect(e).toMatchObject({ emptied: 1, blobs: 0 });
    expect(e.pending).toBeGreaterThanOrEqual(1);
    // The blob is released, deleted by a collection after the 24 h sync grace (core tests move the clock).
    expect(readdirSync(path.join(V, 'blobs'))).toHaveLength(blobsBefore);
    expect(JSON.parse(ok(await run(['trash', V, '--json', ...PASS]))).entries).toEqual([]);
    failsWith(await run(['restore', V, 'b.txt', ...PASS]), 1, /neither in vault/);
    failsWith(await run(['trash', V, '--empty', '--id', 'ff'.repeat(16), ...PASS]), 1, /nothing with id f+ is in the trash/);
    expect((await run(['trash', V, '--id', 'x', ...PASS])).code).toBe(2);
  });

  it('retention: shown and set (--json), bounds refused; collect reports', async () => {
    expect(JSON.parse(ok(await run(['retention', V, '--json', ...PASS])))).toEqual({ days: 30, versions: 10 });
    expect(JSON.parse(ok(await run(['retention', V, '--days', '14', '--versions', '1', '--json', ...PASS])))).toEqual({ days: 14, versions: 1 });
    expect(ok(await run(['retention', V, ...PASS]))).toMatch(/newest 1 per file, none older than 14 days; trash: 14 days/);
    failsWith(await run(['retention', V, '--days', '0', ...PASS]), 1, /retention must be 1–3650 days and 0–100 versions/);
    const c = JSON.parse(ok(await run(['collect', V, '--json', ...PASS]))) as { versions: number; trash: number; blobs: number; bytes: number; pending: number };
    // report.txt had 4 previous versions: 3 are released now (kept 1), none deleted before the grace.
    expect(c).toMatchObject({ versions: 3, trash: 0, blobs: 0 });
    const j = JSON.parse(ok(await run(['versions', V, 'report.txt', '--json', ...PASS]))) as unknown[];
    expect(j).toHaveLength(2);
  });

  it('attack: names with terminal escapes are printed escaped by versions, trash and restore', async () => {
    // A name a vault may hold that reorders text on a terminal (U+202E) — control characters cannot be names.
    const evil = 'inv\u202eoice.txt';
    await put(evil, 'x');
    await put(evil, 'y');
    ok(await run(['rm', V, evil, ...PASS]));
    const t = await run(['trash', V, ...PASS]);
    expect(t.stdout.toString()).toContain('inv\\u202eoice.txt');
    expect(t.stdout.toString()).not.toContain('\u202e');
    const r = ok(await run(['restore', V, evil, ...PASS]));
    expect(r).toContain('inv\\u202eoice.txt');
    expect(r).not.toContain('\u202e');
  });
});
