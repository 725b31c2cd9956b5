/** `coffer vault …` through the built CLI: every command, the unlock options, exit codes and --json. */
import { readdirSync, readFileSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCoffer, tempDir, type CliResult } from '../helpers/cli';

// Each test spawns the CLI several times; a loaded CI machine can take a while.
vi.setConfig({ testTimeout: 180_000 });

const tmp = tempDir('coffer-vault-cli-');
afterAll(() => tmp.cleanup());
const p = (n: string): string => path.join(tmp.dir, n);
const V = p('vault');
const env = { COFFER_STATE_DIR: p('state') };
const PASS = ['--passphrase-file', p('pass')];
let recoveryKey = '';
let alice = '';

const run = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> => runCoffer(['vault', ...args], { env: { ...env, ...extraEnv } });

function ok(r: CliResult): string {
  expect(r.stderr.split('\n').filter((l) => l.startsWith('coffer:')), r.stderr).toEqual([]);
  expect(r.code).toBe(0);
  return r.stdout.toString();
}

function failsWith(r: CliResult, code: number, pattern: RegExp): void {
  expect(r.code).toBe(code);
  const lines = r.stderr.trimEnd().split('\n').filter((l) => l.startsWith('coffer: '));
  expect(lines.length).toBeGreaterThanOrEqual(1);
  expect(r.stderr).toMatch(pattern);
}

function walkText(dir: string): string {
  let out = '';
  for (const n of readdirSync(dir)) {
    const f = path.join(dir, n);
    out += statSync(f).isDirectory() ? walkText(f) : readFileSync(f, 'latin1');
  }
  return out;
}

beforeAll(async () => {
  writeFileSync(p('pass'), 'correct horse battery staple\n');
  mkdirSync(p('src/sub'), { recursive: true });
  writeFileSync(p('src/a.txt'), 'alpha\n');
  writeFileSync(p('src/sub/b.txt'), 'bravo\n');
  const k = await runCoffer(['keygen', '-o', p('alice.key')]);
  alice = k.stdout.toString().trim();
});

describe('coffer vault', () => {
  it('init prints the recovery key once (and it is stored nowhere); --json is stable', async () => {
    const out = ok(await run(['init', V, '--name', 'Team', ...PASS, '--kdf-params', '1:8', '--json']));
    const j = JSON.parse(out) as { vault: string; name: string; recoveryKey: string; epoch: string; slots: { type: string }[] };
    expect(j.name).toBe('Team');
    expect(j.vault).toMatch(/^[0-9a-f]{32}$/);
    expect(j.recoveryKey).toMatch(/^([0-9A-Z]{4}-){8}[0-9A-Z]{4}$/);
    expect(j.slots.map((s) => s.type).sort()).toEqual(['passphrase', 'recovery']);
    recoveryKey = j.recoveryKey;
    expect(walkText(V)).not.toContain(recoveryKey);
    expect(walkText(p('state'))).not.toContain(recoveryKey);
    writeFileSync(p('recovery.txt'), `${recoveryKey}\n`);
    failsWith(await run(['init', V, ...PASS]), 1, /not empty/);
    failsWith(await run(['init', p('v-nokey')]), 2, /passphrase \(-p\) or a member/);
    const text = ok(await run(['init', p('v2'), ...PASS, '--kdf-params', '1:8']));
    expect(text).toMatch(/Recovery key .*shown only this once/);
  });

  it('add, ls (plain, -l, -R, --json), get', async () => {
    expect(ok(await run(['add', V, p('src'), '--to', 'docs', ...PASS]))).toMatch(/added 2 files/);
    expect(ok(await run(['ls', V, ...PASS]))).toBe('docs/\n');
    expect(ok(await run(['ls', V, 'docs/src', '-R', ...PASS]))).toBe('docs/src/a.txt\ndocs/src/sub/\ndocs/src/sub/b.txt\n');
    expect(ok(await run(['ls', V, 'docs/src', '-l', ...PASS]))).toMatch(/^- {12}6 {2}\S+Z {2}v1 {2}docs\/src\/a\.txt$/m);
    const j = JSON.parse(ok(await run(['ls', V, 'docs/src', '--json', ...PASS]))) as Record<string, unknown>[];
    expect(j).toHaveLength(2);
    expect(Object.keys(j[0] as object).sort()).toEqual(['conflict', 'id', 'mtime', 'name', 'path', 'size', 'type', 'version']);
    ok(await run(['get', V, 'docs/src/sub/b.txt', '-o', p('b.out'), ...PASS]));
    expect(readFileSync(p('b.out'), 'utf8')).toBe('bravo\n');
    ok(await run(['get', V, 'docs', '-o', p('docs-out'), ...PASS]));
    expect(readFileSync(p('docs-out/src/a.txt'), 'utf8')).toBe('alpha\n');
    failsWith(await run(['get', V, 'docs/src/sub/b.txt', '-o', p('b.out'), ...PASS]), 1, /already exists/);
    failsWith(await run(['get', V, 'nope', '-o', p('x'), ...PASS]), 1, /no such file/);
  });

  it('unlock options: COFFER_PASSPHRASE, --recovery-key-file, -i; wrong or missing keys exit 1', async () => {
    ok(await run(['ls', V, '-p'], { COFFER_PASSPHRASE: 'correct horse battery staple' }));
    ok(await run(['ls', V], { COFFER_PASSPHRASE: 'correct horse battery staple' }));
    ok(await run(['ls', V, '--recovery-key-file', p('recovery.txt')]));
    failsWith(await run(['ls', V], { COFFER_PASSPHRASE: 'wrong' }), 1, /^coffer: wrong passphrase/m);
    failsWith(await run(['ls', V]), 1, /locked: give a passphrase/);
    failsWith(await run(['ls', V, '-p']), 1, /no terminal/);
    ok(await run(['grant', V, alice, '--label', 'Alice', ...PASS]));
    ok(await run(['ls', V, '-i', p('alice.key')]));
  });

  it('mkdir, mv, rm -r; usage errors exit 2', async () => {
    ok(await run(['mkdir', V, 'archive/2026', ...PASS]));
    ok(await run(['mv', V, 'docs/src/a.txt', 'archive/2026', ...PASS]));
    ok(await run(['mv', V, 'archive/2026/a.txt', 'archive/2026/renamed.txt', ...PASS]));
    failsWith(await run(['rm', V, 'docs', ...PASS]), 1, /use -r/);
    ok(await run(['rm', V, 'docs', '-r', ...PASS]));
    expect(ok(await run(['ls', V, '-R', ...PASS]))).toBe('archive/\narchive/2026/\narchive/2026/renamed.txt\n');
    failsWith(await run(['mv', V, 'x', ...PASS]), 2, /usage: coffer vault mv/);
    failsWith(await run(['frobnicate', V]), 2, /unknown vault command/);
    failsWith(await run(['ls', V, '--bogus', ...PASS]), 2, /unknown option --bogus/);
  });

  it('members --json, request-access and grant by request id, revoke with the explanation, rotate', async () => {
    const bobKey = await runCoffer(['keygen', '-o', p('bob.key')]);
    const bob = bobKey.stdout.toString().trim();
    const req = ok(await run(['request-access', V, bob, '--name', 'Bob', '--json']));
    const reqId = (JSON.parse(req) as { id: string }).id;
    const m = JSON.parse(ok(await run(['members', V, '--json', ...PASS]))) as { epoch: string; slots: { id: string; label: string; type: string; fingerprint: string; created: string; status: string; current: boolean }[]; requests: { id: string; name: string }[] };
    expect(m.requests).toEqual([expect.objectContaining({ id: reqId, name: 'Bob' })]);
    expect(m.slots.map((s) => s.type).sort()).toEqual(['passphrase', 'recovery', 'x25519']);
    expect(Object.keys(m.slots[0] as object).sort()).toEqual(['created', 'current', 'fingerprint', 'id', 'label', 'status', 'type']);
    expect(ok(await run(['members', V, ...PASS]))).toMatch(/pending access requests/);
    expect(ok(await run(['grant', V, reqId, ...PASS]))).toMatch(/granted: slot [0-9a-f]{12} \(x25519, fingerprint [0-9a-f ]+\) "Bob"/);
    ok(await run(['ls', V, '-i', p('bob.key')]));
    const bobSlot = (JSON.parse(ok(await run(['members', V, '--json', ...PASS]))) as typeof m).slots.find((s) => s.label === 'Bob')?.id as string;
    const rev = ok(await run(['revoke', V, bobSlot, ...PASS]));
    expect(rev).toMatch(/revoked slot/);
    expect(rev).toMatch(/may still\s+read files it opened before/);
    failsWith(await run(['ls', V, '-i', p('bob.key')]), 1, /coffer: /);
    const aliceSlot = (JSON.parse(ok(await run(['members', V, '--json', ...PASS]))) as typeof m).slots.find((s) => s.label === 'Alice')?.id as string;
    const rev2 = JSON.parse(ok(await run(['revoke', V, aliceSlot, '--reencrypt', '--json', ...PASS]))) as { blobsReencrypted: number; reencrypted: boolean };
    // 2: renamed.txt and docs/src/sub/b.txt, which `rm -r docs` moved to the trash (re-encrypted too).
    expect(rev2).toMatchObject({ reencrypted: true, blobsReencrypted: 2 });
    failsWith(await run(['ls', V, '-i', p('alice.key')]), 1, /coffer: /);
    const rot = JSON.parse(ok(await run(['rotate', V, '--json', ...PASS]))) as { epoch: string; records: number; slots: number };
    expect(rot.records).toBe(7); // 3 live entries and the 4 of docs/ in the trash
    expect(rot.slots).toBe(2);
    expect(ok(await run(['rotate', V, ...PASS]))).toMatch(/new vault key for 2 slots; 7 records carried over, records and content untouched/);
  });

  it('passwd, export (decryptable with coffer decrypt), verify and verify --repair', async () => {
    writeFileSync(p('pass2'), 'new passphrase\n');
    ok(await run(['passwd', V, ...PASS, '--new-passphrase-file', p('pass2'), '--kdf-params', '1:8']));
    failsWith(await run(['ls', V, ...PASS]), 1, /wrong passphrase/);
    const P2 = ['--passphrase-file', p('pass2')];
    const carol = (await runCoffer(['keygen', '-o', p('carol.key')])).stdout.toString().trim();
    ok(await run(['export', V, 'archive/2026/renamed.txt', '-r', carol, '-o', p('out.coffer'), ...P2]));
    const dec = await runCoffer(['decrypt', '-i', p('carol.key'), p('out.coffer')]);
    expect(dec.code, dec.stderr).toBe(0);
    expect(dec.stdout.toString()).toBe('alpha\n');
    failsWith(await run(['export', V, 'archive/2026/renamed.txt', '-o', p('o2'), ...P2]), 2, /usage/);

    expect(ok(await run(['verify', V, ...P2]))).toMatch(/^ok: 7 records, 2 blobs/m); // with docs/ in the trash
    // A leftover from a dead process: verify fails (exit 1), --repair removes it.
    writeFileSync(path.join(V, 'tmp', `${(await import('node:os')).hostname().replace(/[^A-Za-z0-9.-]/g, '_')}~999999~0123456789abcdef.tmp`), 'junk');
    const bad = await run(['verify', V, '--json', ...P2]);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout.toString())).toMatchObject({ ok: false, problems: [expect.objectContaining({ code: 'LEFTOVER', repairable: true })] });
    expect(bad.stderr).toMatch(/^coffer: vault Team has 1 problem; run with --repair/m);
    expect(ok(await run(['verify', V, '--repair', ...P2]))).toMatch(/repaired: removed tmp\//);
    ok(await run(['verify', V, ...P2]));
    // Tampering is an error verify cannot repair.
    // revoke --reencrypt above wrote every record into a checkpoint (docs/FORMAT.md §6.18): tamper with it.
    const pack = readdirSync(path.join(V, 'packs')).find((n) => n.endsWith('.ckpt')) as string;
    const f = path.join(V, 'packs', pack);
    const t = readFileSync(f, 'latin1');
    writeFileSync(f, `${t.slice(0, 80)}${t[80] === 'A' ? 'B' : 'A'}${t.slice(81)}`, 'latin1');
    const tampered = await run(['verify', V, ...P2]);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout.toString()).toMatch(/error: packs\/[0-9a-f]{32}\.ckpt: pack failed authentication/);
    const ls = await run(['ls', V, '-R', ...P2]);
    expect(ls.stderr).toMatch(/coffer: error: packs\/.*failed authentication/);
    expect(ls.code).toBe(1);
  });
});
