import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCoffer, tempDir } from '../helpers/cli';
import { loadVectors } from '../helpers/vectors';

const tmp = tempDir();
const p = (name: string): string => path.join(tmp.dir, name);
let alice = '';
let bob = '';

beforeAll(async () => {
  const a = await runCoffer(['keygen', '-o', p('alice.key')]);
  expect(a.code).toBe(0);
  alice = a.stdout.toString().trim();
  const b = await runCoffer(['keygen', '-o', p('bob.key')]);
  bob = b.stdout.toString().trim();
  writeFileSync(p('team.txt'), `# the team\n${alice}\n${bob}\n`);
});
afterAll(() => tmp.cleanup());

function expectFailureLine(stderr: string): void {
  const lines = stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^coffer: \S/);
}

describe('coffer keygen', () => {
  it('writes a 0600 identity file, prints the recipient, and refuses to overwrite', async () => {
    expect(alice).toMatch(/^coffer1/);
    expect(statSync(p('alice.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(p('alice.key'), 'utf8')).toContain(`# public key: ${alice}`);
    const again = await runCoffer(['keygen', '-o', p('alice.key')]);
    expect(again.code).toBe(1);
    expectFailureLine(again.stderr);
  });

  it('without -o prints the identity on stdout and the public key on stderr', async () => {
    const r = await runCoffer(['keygen']);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toMatch(/^# created: .*\nCOFFER-SECRET-KEY-1[0-9A-Z]+\n$/s);
    expect(r.stderr).toMatch(/^Public key: coffer1[a-z0-9]+\n$/);
  });
});

describe('coffer encrypt / decrypt round trips', () => {
  const sizes = [0, 1, 65535, 65536, 65537, 10 * 1024 * 1024];
  for (const size of sizes) {
    it(`${size} bytes through files (several recipients) and through stdin/stdout (passphrase)`, async () => {
      const pt = randomBytes(size);
      writeFileSync(p(`pt-${size}`), pt);
      const enc = await runCoffer(['encrypt', '-r', alice, '-R', p('team.txt'), '-o', p(`ct-${size}`), p(`pt-${size}`)]);
      expect(enc.stderr).toBe('');
      expect(enc.code).toBe(0);
      for (const key of ['alice.key', 'bob.key']) {
        const dec = await runCoffer(['decrypt', '-i', p(key), '-o', p(`out-${size}-${key}`), p(`ct-${size}`)]);
        expect(dec.code).toBe(0);
        expect(readFileSync(p(`out-${size}-${key}`)).equals(pt)).toBe(true);
      }
      const env = { COFFER_PASSPHRASE: 'tr0ub4dor&3' };
      const encPipe = await runCoffer(['encrypt', '-p'], { input: pt, env });
      expect(encPipe.code).toBe(0);
      writeFileSync(p('pass.txt'), 'tr0ub4dor&3\n');
      const decPipe = await runCoffer(['decrypt', '--passphrase-file', p('pass.txt')], { input: encPipe.stdout });
      expect(decPipe.code).toBe(0);
      expect(decPipe.stdout.equals(pt)).toBe(true);
    });
  }

  it('native and WASM libsodium decrypt each other\'s output byte for byte', async () => {
    const pt = randomBytes(3 * 65536 + 7);
    const native = await runCoffer(['encrypt', '-r', alice], { input: pt });
    const wasm = await runCoffer(['encrypt', '-r', alice], { input: pt, env: { COFFER_SODIUM: 'wasm' } });
    writeFileSync(p('n.cf'), native.stdout);
    writeFileSync(p('w.cf'), wasm.stdout);
    const a = await runCoffer(['decrypt', '-i', p('alice.key'), p('n.cf')], { env: { COFFER_SODIUM: 'wasm' } });
    const b = await runCoffer(['decrypt', '-i', p('alice.key'), p('w.cf')]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(a.stdout.equals(pt)).toBe(true);
    expect(b.stdout.equals(pt)).toBe(true);
  });

  it('inspect shows stanza types and sizes, nothing secret', async () => {
    const r = await runCoffer(['inspect', '--json', p('ct-65537')]);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout.toString()) as { stanzas: { type: string }[]; plaintextBytes: number; chunks: number };
    expect(info.stanzas.map((s) => s.type)).toEqual(['X25519', 'X25519', 'X25519']);
    expect(info.plaintextBytes).toBe(65537);
    expect(info.chunks).toBe(2);
    const text = await runCoffer(['inspect', p('ct-65537')]);
    expect(text.stdout.toString()).toContain('3 stanza(s): X25519, X25519, X25519');
  });
});

describe('coffer failures', () => {
  it('every failing vector: exit 1, one "coffer: " line, nothing at OUT, no partial file', async () => {
    const dir = tempDir('coffer-vec-');
    try {
      for (const v of loadVectors().filter((x) => x.meta.expect === 'failure')) {
        const vec = path.join(dir.dir, `${v.name}.coffer`);
        writeFileSync(vec, v.file);
        const id = path.join(dir.dir, `${v.name}.key`);
        writeFileSync(id, `${v.meta.identity ?? 'COFFER-SECRET-KEY-1'}\n`, { mode: 0o600 });
        const out = path.join(dir.dir, `${v.name}.out`);
        const args = v.meta.identity ? ['decrypt', '-i', id, '-o', out, vec] : ['decrypt', '-o', out, vec];
        const r = await runCoffer(args, { env: v.meta.passphrase ? { COFFER_PASSPHRASE: v.meta.passphrase } : {} });
        expect(r.code, v.name).toBe(1);
        expectFailureLine(r.stderr);
        expect(existsSync(out), v.name).toBe(false);
      }
      expect(readdirSync(dir.dir).filter((f) => f.includes('partial'))).toEqual([]);
    } finally {
      dir.cleanup();
    }
  });

  it('a truncated stream to stdout ends with exit 1 after only authenticated chunks', async () => {
    const pt = randomBytes(5 * 65536);
    const ct = (await runCoffer(['encrypt', '-r', alice], { input: pt })).stdout;
    const r = await runCoffer(['decrypt', '-i', p('alice.key')], { input: ct.subarray(0, ct.length - 1000) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^coffer: file was modified or truncated \(chunk 5\)\n$/);
    expect(r.stdout.length).toBe(4 * 65536);
    expect(r.stdout.equals(pt.subarray(0, 4 * 65536))).toBe(true);
  });

  it('ATTACK: a chunk tampered in the middle of a 12 MiB file: -o leaves nothing at OUT and no partial file; stdout gets only the chunks before it', async () => {
    const C = 65536;
    const pt = randomBytes(12 * 1024 * 1024 + 5);
    writeFileSync(p('big.pt'), pt);
    expect((await runCoffer(['encrypt', '-r', alice, '-o', p('big.cf'), p('big.pt')])).code).toBe(0);
    const ct = readFileSync(p('big.cf'));
    // Chunk 100 (0-based) of 193 lies in the seventh 1 MiB step the file-to-file path reads: steps
    // before it are already sealed, written and being synced when the bad chunk is met.
    const at = ct.length - (5 + 17) - (192 - 100) * (C + 17) + 9;
    ct[at] = (ct[at] as number) ^ 0x40;
    writeFileSync(p('big-bad.cf'), ct);
    const r = await runCoffer(['decrypt', '-i', p('alice.key'), '-o', p('big-bad.out'), p('big-bad.cf')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('coffer: file was modified (chunk 101 failed authentication)\n');
    expect(existsSync(p('big-bad.out'))).toBe(false);
    expect(readdirSync(tmp.dir).filter((f) => f.includes('partial'))).toEqual([]);
    const piped = await runCoffer(['decrypt', '-i', p('alice.key')], { input: ct });
    expect(piped.code).toBe(1);
    expect(piped.stdout.length).toBeLessThanOrEqual(100 * C);
    expect(piped.stdout.equals(pt.subarray(0, piped.stdout.length))).toBe(true);
    // Positive control: the untampered file decrypts in full.
    const ok = await runCoffer(['decrypt', '-i', p('alice.key'), '-o', p('big.out'), p('big.cf')]);
    expect(ok.code).toBe(0);
    expect(readFileSync(p('big.out')).equals(pt)).toBe(true);
  });

  it('does not overwrite an existing OUT without --force', async () => {
    writeFileSync(p('exists.out'), 'keep me');
    const r = await runCoffer(['encrypt', '-r', alice, '-o', p('exists.out'), p('pt-1')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/already exists; use --force/);
    expect(readFileSync(p('exists.out'), 'utf8')).toBe('keep me');
    const f = await runCoffer(['encrypt', '-r', alice, '-o', p('exists.out'), '--force', p('pt-1')]);
    expect(f.code).toBe(0);
    expect(readFileSync(p('exists.out')).subarray(0, 9).toString()).toBe('coffer/v1');
  });

  it('--help on any subcommand prints its usage on stdout and exits 0', async () => {
    for (const args of [['encrypt', '--help'], ['decrypt', '-h'], ['vault', 'ls', '--help'], ['hwkey', 'list', '--help']]) {
      const r = await runCoffer(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout.toString()).toMatch(/^usage: coffer /);
    }
  });

  it('usage errors exit 2; missing passphrase without a terminal is a clear error', async () => {
    expect((await runCoffer(['encrypt'])).code).toBe(2);
    expect((await runCoffer(['encrypt', '--bogus'])).code).toBe(2);
    expect((await runCoffer(['nope'])).code).toBe(2);
    expect((await runCoffer(['decrypt', 'a', 'b'])).code).toBe(2);
    const r = await runCoffer(['encrypt', '-p', p('pt-1')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/COFFER_PASSPHRASE/);
    const wrong = await runCoffer(['decrypt', '-i', p('bob.key'), '-o', p('nope.out'), p('n.cf')]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/none of the given identities/);
    const badRecipient = await runCoffer(['encrypt', '-r', 'coffer1notakey', p('pt-1')]);
    expect(badRecipient.code).toBe(1);
    expectFailureLine(badRecipient.stderr);
    const missing = await runCoffer(['encrypt', '-r', alice, p('does-not-exist')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no such file/);
  });
});
