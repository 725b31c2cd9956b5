/**
 * Issue 11, items 10–14, through the built CLI: the whole vault out with `get DIR /`, errors that name
 * the user's path and the action (read-only folders and a full disk on real tmpfs mounts), a missing
 * folder said to be missing, usage fixes, and names in NFD/NFC, including a vault written on a "Mac".
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCoffer, tempDir, type CliResult } from '../helpers/cli';

vi.setConfig({ testTimeout: 180_000 });

const tmp = tempDir('coffer-usability-');
const p = (n: string): string => path.join(tmp.dir, n);
const env = { COFFER_STATE_DIR: p('state') };
const PASS = ['--passphrase-file', p('pass')];
const run = (args: string[]): Promise<CliResult> => runCoffer(args, { env, cwd: tmp.dir });
const NFD = (s: string): string => s.normalize('NFD');
const NFC = (s: string): string => s.normalize('NFC');

function ok(r: CliResult): string {
  expect(r.stderr.split('\n').filter((l) => l.startsWith('coffer:')), r.stderr).toEqual([]);
  expect(r.code).toBe(0);
  return r.stdout.toString();
}

/** One `coffer: ` line, exit `code`; returns that line. */
function fails(r: CliResult, code: number): string {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('coffer: '));
  expect(lines, r.stderr).toHaveLength(1);
  return lines[0] as string;
}

function walk(dir: string, base = ''): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir, { withFileTypes: true })) {
    const rel = base ? `${base}/${n.name}` : n.name;
    out.push(n.isDirectory() ? `${rel}/` : rel);
    if (n.isDirectory()) out.push(...walk(path.join(dir, n.name), rel));
  }
  return out.sort();
}

/** Mounts a tmpfs (root only); null with the reason when this machine cannot. */
function tryMount(dir: string, opts: string): string | null {
  mkdirSync(dir, { recursive: true });
  if (process.getuid?.() !== 0) return 'not running as root, so no tmpfs can be mounted';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return `mount failed: ${(e as Error).message.split('\n')[0] ?? ''}`;
  }
}
const mounted: string[] = [];
const umount = (dir: string): void => {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    /* not mounted */
  }
};

beforeAll(async () => {
  writeFileSync(p('pass'), 'correct horse battery staple\n');
  mkdirSync(p('src/sub'), { recursive: true });
  writeFileSync(p('src/a.txt'), 'alpha\n');
  writeFileSync(p('src/sub/b.txt'), 'bravo\n');
  ok(await run(['vault', 'init', 'V', ...PASS, '--kdf-params', '1:8']));
  ok(await run(['vault', 'add', 'V', 'src', ...PASS]));
});

afterAll(() => {
  for (const m of mounted) umount(m);
  tmp.cleanup();
});

describe('item 10: the root is a folder like any other', () => {
  it('get DIR / -o OUT writes the whole vault; into an existing folder it adds the vault name', async () => {
    ok(await run(['vault', 'get', 'V', '/', '-o', 'OUT', ...PASS]));
    expect(walk(p('OUT'))).toEqual(['src/', 'src/a.txt', 'src/sub/', 'src/sub/b.txt']);
    expect(readFileSync(p('OUT/src/sub/b.txt'), 'utf8')).toBe('bravo\n');
    mkdirSync(p('EXISTING'));
    ok(await run(['vault', 'get', 'V', '/', '-o', 'EXISTING', ...PASS]));
    expect(walk(p('EXISTING'))).toEqual(['V/', 'V/src/', 'V/src/a.txt', 'V/src/sub/', 'V/src/sub/b.txt']);
    // Getting it again refuses to overwrite, as for any folder.
    expect(fails(await run(['vault', 'get', 'V', '/', '-o', 'EXISTING', ...PASS]), 1)).toMatch(/already exists/);
  });
});

describe('item 12: a path that does not exist says so', () => {
  it('ls, get and request-access on a missing folder', async () => {
    for (const args of [['vault', 'ls', 'nope', ...PASS], ['vault', 'get', 'nope', '/', '-o', 'x', ...PASS],
      ['vault', 'request-access', 'nope', 'coffer1x', '--name', 'Me']]) {
      const line = fails(await run(args), 1);
      expect(line).toBe('coffer: nope does not exist');
    }
    // An existing folder that is not a vault is still told apart.
    mkdirSync(p('plain'));
    expect(fails(await run(['vault', 'ls', 'plain', ...PASS]), 1)).toMatch(/plain is not a coffer vault/);
  });
});

describe('item 13: usage messages', () => {
  it('get without -o says -o is required; without a path says what to give', async () => {
    const r = await run(['vault', 'get', 'V', 'src']);
    expect(fails(r, 2)).toMatch(/-o DEST is required/);
    expect(fails(await run(['vault', 'get', 'V']), 2)).toMatch(/say what to get: a path in the vault, or \/ for all of it/);
  });

  it('-a and --armor (age habits) get a hint, other unknown options a plain message', async () => {
    for (const a of ['-a', '--armor']) {
      expect(fails(await run(['encrypt', a, '-p']), 2)).toMatch(/coffer has no -a\/--armor .*always binary.*base64/);
    }
    expect(fails(await run(['encrypt', '-z']), 2)).toBe('coffer: unknown option -z');
    expect(fails(await run(['vault', 'get', 'V', '/', '-o']), 2)).toBe('coffer: option -o/--output needs a value');
    // A value starting with a dash (node's parser said "argument is ambiguous"): say how to pass it.
    expect(fails(await run(['vault', 'retention', 'V', '--days', '-3']), 2)).toBe('coffer: option --days was given a value starting with "-"; if that is meant, write it as --days=VALUE');
  });

  it('a file that is not a coffer file is said so without jargon', async () => {
    writeFileSync(p('plain.txt'), 'hello\n');
    const line = fails(await run(['decrypt', '-p', 'plain.txt']), 1);
    expect(line).toBe('coffer: not a coffer file (it does not start with "coffer/v1")');
    expect(line).not.toMatch(/magic/);
  });

  it('Argon2 limits are stated exactly, in KiB where MiB would round', async () => {
    expect(fails(await run(['vault', 'init', 'K1', ...PASS, '--kdf-params', '1:1048577']), 1))
      .toBe('coffer: Argon2id memory of 1048577 KiB is above the maximum of 1024 MiB (1048576 KiB)');
    expect(fails(await run(['vault', 'init', 'K2', ...PASS, '--kdf-params', '1:7']), 1))
      .toBe('coffer: Argon2id memory of 7 KiB is below the minimum of 8 KiB');
    expect(fails(await run(['vault', 'init', 'K3', ...PASS, '--kdf-params', '17:65536']), 1))
      .toBe('coffer: Argon2id with 17 passes is outside the accepted range of 1 to 16 passes');
    expect(existsSync(p('K1')) || existsSync(p('K2')) || existsSync(p('K3'))).toBe(false);
  });
});

describe('item 11: errors name the user\'s path and the action, never internal files', () => {
  const INTERNAL = /tmp\/lock|coffer-partial|\.coffer-|~\d+~|\.tmp\b|blobs\/|records\//;

  it('read-only folders (a tmpfs remounted read-only)', async (ctx) => {
    const ro = p('ro');
    const why = tryMount(ro, 'size=4m');
    if (why !== null) {
      console.warn(`SKIPPED read-only test: ${why}`);
      ctx.skip();
      return;
    }
    mounted.push(ro);
    cpSync(p('V'), path.join(ro, 'V'), { recursive: true });
    execFileSync('mount', ['-o', 'remount,ro', ro]);
    const before = walk(ro);
    // Each names the user's path (the vault folder, the output or its folder) and why; never an internal file.
    const RO = /(the file system is read-only|read-only file system)$/;
    const cases: [string[], RegExp][] = [
      [['vault', 'add', 'ro/V', 'src/a.txt', ...PASS], /^coffer: cannot (add files to|write to) the vault (at )?ro\/V: /],
      [['vault', 'mkdir', 'ro/V', 'new', ...PASS], /^coffer: cannot (create a folder in|write to) the vault (at )?ro\/V: /],
      [['vault', 'get', 'V', 'src/a.txt', '-o', 'ro/out.txt', ...PASS], /^coffer: cannot write to ro\/(out\.txt)?: /],
      [['vault', 'get', 'V', '/', '-o', 'ro/all', ...PASS], /^coffer: cannot write to ro\/(all)?: /],
      [['encrypt', ...PASS, '-o', 'ro/out.txt', 'src/a.txt'], /^coffer: cannot write to ro\/(out\.txt)?: /],
      [['vault', 'init', 'ro/new', ...PASS, '--kdf-params', '1:8'], /^coffer: cannot (write to ro\/|create the vault ro\/new)(: | )/],
    ];
    for (const [args, want] of cases) {
      const line = fails(await run(args), 1);
      expect(line, args.join(' ')).toMatch(want);
      expect(line, args.join(' ')).toMatch(RO);
      expect(line).not.toMatch(INTERNAL);
    }
    // Reading a read-only vault still works.
    expect(ok(await run(['vault', 'ls', 'ro/V', '-R', ...PASS]))).toContain('src/sub/b.txt');
    expect(walk(ro)).toEqual(before);
  });

  it('a full disk (a 512 KiB tmpfs): the action and the user path, and nothing left behind', async (ctx) => {
    const full = p('full');
    const why = tryMount(full, 'size=512k');
    if (why !== null) {
      console.warn(`SKIPPED full-disk test: ${why}`);
      ctx.skip();
      return;
    }
    mounted.push(full);
    writeFileSync(p('big.bin'), Buffer.alloc(1_200_000, 7));
    writeFileSync(p('mid.bin'), Buffer.alloc(700_000, 9));
    ok(await run(['vault', 'init', 'full/V', ...PASS, '--kdf-params', '1:8']));
    const vaultBefore = walk(path.join(full, 'V'));
    const FULL = /(no space left on the disk|disk full)/;
    const add = fails(await run(['vault', 'add', 'full/V', 'big.bin', ...PASS]), 1);
    expect(add).toMatch(/^coffer: cannot (add files to|write to) the vault (at )?full\/V: /);
    expect(add).toMatch(FULL);
    ok(await run(['vault', 'add', 'V', 'mid.bin', ...PASS]));
    const get = fails(await run(['vault', 'get', 'V', 'mid.bin', '-o', 'full/mid.bin', ...PASS]), 1);
    expect(get).toMatch(/full\/mid\.bin/);
    expect(get).toMatch(FULL);
    const enc = fails(await run(['encrypt', ...PASS, '-o', 'full/x.enc', 'big.bin']), 1);
    expect(enc).toMatch(/full\/x\.enc/);
    expect(enc).toMatch(FULL);
    for (const l of [add, get, enc]) expect(l).not.toMatch(INTERNAL);
    // No partial output and no leftovers in the vault (tmp/ is empty again, no blob was kept).
    expect(walk(path.join(full, 'V'))).toEqual(vaultBefore);
    expect(readdirSync(full).sort()).toEqual(['V']);
  });
});

describe('item 14: NFC names everywhere', () => {
  const cafe = 'Café';
  const resume = 'résumé.txt';

  it('a vault written on a "Mac" (NFD names in its records) reads on "Linux" with either spelling', async () => {
    const fixture = path.join(__dirname, '../fixtures/vault-nfd');
    cpSync(path.join(fixture, 'v1'), p('mac'), { recursive: true });
    const MACPASS = ['--passphrase-file', path.join(fixture, 'passphrase.txt')];
    // The first open of a vault on this computer may warn that a rollback cannot be ruled out yet.
    const ok = (r: CliResult): string => {
      expect(r.stderr.split('\n').filter((l) => l.startsWith('coffer:') && !l.startsWith('coffer: warning: this computer has not opened')), r.stderr).toEqual([]);
      expect(r.code).toBe(0);
      return r.stdout.toString();
    };
    const list = JSON.parse(ok(await run(['vault', 'ls', 'mac', '-R', '--json', ...MACPASS]))) as { path: string }[];
    expect(list.map((e) => e.path).sort()).toEqual([NFC(cafe), NFC(`${cafe}/${resume}`), NFC('naïve.txt')]);
    for (const spelling of [NFD(`${cafe}/${resume}`), NFC(`${cafe}/${resume}`)]) {
      const out = p(`mac-${spelling === NFD(spelling) ? 'nfd' : 'nfc'}.txt`);
      ok(await run(['vault', 'get', 'mac', spelling, '-o', out, ...MACPASS]));
      expect(readFileSync(out, 'utf8')).toBe('written on a Mac\n');
    }
    // Lookups of folders in NFD too, and what is written out is named in NFC.
    expect(ok(await run(['vault', 'ls', 'mac', NFD(cafe), ...MACPASS])).trim()).toBe(NFC(`${cafe}/${resume}`));
    ok(await run(['vault', 'get', 'mac', '/', '-o', 'mac-all', ...MACPASS]));
    expect(walk(p('mac-all'))).toEqual([`${NFC(cafe)}/`, `${NFC(cafe)}/${NFC(resume)}`, NFC('naïve.txt')].sort());
  });

  it('the same text added in NFD and NFC is one entry, stored and listed in NFC; mkdir/mv normalise too', async () => {
    ok(await run(['vault', 'init', 'N', ...PASS, '--kdf-params', '1:8']));
    mkdirSync(p('nfd'));
    mkdirSync(p('nfc'));
    writeFileSync(path.join(p('nfd'), NFD(resume)), 'first\n');
    writeFileSync(path.join(p('nfc'), NFC(resume)), 'second\n');
    ok(await run(['vault', 'add', 'N', path.join('nfd', NFD(resume)), ...PASS]));
    const second = JSON.parse(ok(await run(['vault', 'add', 'N', path.join('nfc', NFC(resume)), '--json', ...PASS]))) as { replaced: number };
    expect(second.replaced).toBe(1);
    ok(await run(['vault', 'mkdir', 'N', NFD(cafe), ...PASS]));
    expect(fails(await run(['vault', 'mkdir', 'N', NFC(cafe), ...PASS]), 1)).toMatch(/already exists/);
    ok(await run(['vault', 'mv', 'N', NFD(resume), NFD(`${cafe}/${resume}`), ...PASS]));
    const list = JSON.parse(ok(await run(['vault', 'ls', 'N', '-R', '--json', ...PASS]))) as { path: string; name: string; version: number }[];
    expect(list.map((e) => [e.path, e.version])).toEqual([[NFC(cafe), 1], [NFC(`${cafe}/${resume}`), 3]]);
    for (const e of list) expect(e.name).toBe(NFC(e.name));
    ok(await run(['vault', 'get', 'N', NFD(`${cafe}/${resume}`), '-o', 'n-out.txt', ...PASS]));
    expect(readFileSync(p('n-out.txt'), 'utf8')).toBe('second\n');
  });
});
