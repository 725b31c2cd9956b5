/**
 * `coffer vault serve` as users run it (the built CLI in its own process): the three stdout lines,
 * a 1 GiB PUT and GET with the server's peak RSS measured, the CLI and the drive writing the same
 * file at once, and SIGINT / SIGTERM with an upload in flight (exit 0, nothing half-written).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CLI, runCoffer, tempDir } from '../helpers/cli';

vi.setConfig({ testTimeout: 600_000 });

const tmp = tempDir('coffer-serve-cli-');
afterAll(() => tmp.cleanup());
const p = (n: string): string => path.join(tmp.dir, n);
const env = { COFFER_STATE_DIR: p('state') };
const PASS = ['--passphrase-file', p('pass')];

interface Served { child: ChildProcess; url: string; port: number; user: string; password: string; stdout: () => string; stderr: () => string; exited: Promise<number | null> }

async function serve(dir: string, extra: string[] = []): Promise<Served> {
  const child = spawn(process.execPath, [CLI, 'vault', 'serve', dir, ...PASS, ...extra], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr?.on('data', (c: Buffer) => { err += c.toString(); });
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const deadline = Date.now() + 60_000;
  while (out.split('\n').length < 4) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`serve did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const m = /^url: (http:\/\/127\.0\.0\.1:(\d+)\/)\nuser: (\S+)\npassword: (\S+)\n$/.exec(out);
  if (!m) throw new Error(`unexpected stdout: ${JSON.stringify(out)}`);
  return { child, url: m[1] as string, port: Number(m[2]), user: m[3] as string, password: m[4] as string, stdout: () => out, stderr: () => err, exited };
}

function request(s: Served, method: string, vpath: string, body?: Readable | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; hash: string; bytes: number; text: string }> {
  return new Promise((resolve, reject) => {
    const h: Record<string, string> = { Authorization: `Basic ${Buffer.from(`${s.user}:${s.password}`).toString('base64')}`, ...headers };
    if (Buffer.isBuffer(body)) h['Content-Length'] = String(body.length);
    const req = http.request({ host: '127.0.0.1', port: s.port, method, path: vpath, headers: h, agent: false }, (res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      let text = '';
      res.on('data', (c: Buffer) => {
        hash.update(c);
        bytes += c.length;
        if (text.length < 4096) text += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, hash: hash.digest('hex'), bytes, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body instanceof Readable) body.pipe(req);
    else req.end(body);
  });
}

/** Peak resident set of a process (Linux), in MiB. */
const peakRssMiB = (pid: number): number => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

/** `mib` MiB generated on the fly (1 MiB random block, each copy stamped with its index), and its SHA-256. */
function generated(mib: number): { stream: Readable; digest: Promise<string> } {
  const block = randomBytes(1 << 20);
  const hash = createHash('sha256');
  let resolveDigest: (s: string) => void = () => undefined;
  const digest = new Promise<string>((r) => { resolveDigest = r; });
  let i = 0;
  const stream = new Readable({
    read() {
      if (i === mib) {
        resolveDigest(hash.digest('hex'));
        this.push(null);
        return;
      }
      const b = Buffer.from(block);
      b.writeUInt32BE(i++, 0);
      hash.update(b);
      this.push(b);
    },
  });
  return { stream, digest };
}

function tmpLeftovers(dir: string): string[] {
  const t = path.join(dir, 'tmp');
  try {
    return readdirSync(t).filter((n) => n.endsWith('.tmp') && statSync(path.join(t, n)).isFile());
  } catch {
    return [];
  }
}

beforeAll(async () => {
  writeFileSync(p('pass'), 'correct horse battery staple\n');
  const r = await runCoffer(['vault', 'init', p('v'), ...PASS, '--kdf-params', '1:8'], { env });
  expect(r.code, r.stderr).toBe(0);
});

describe('coffer vault serve', () => {
  it('prints exactly url, user and a random password once listening; --password-file and --port are honoured', async () => {
    const a = await serve(p('v'));
    try {
      expect(a.user).toBe('coffer');
      expect(a.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect(a.stdout().split('\n')).toHaveLength(4);
      expect((await request(a, 'PROPFIND', '/', undefined, { Depth: '0' })).status).toBe(207);
      expect((await request({ ...a, password: 'nope' }, 'PROPFIND', '/', undefined, { Depth: '0' })).status).toBe(401);
    } finally {
      a.child.kill('SIGINT');
    }
    expect(await a.exited).toBe(0);
    writeFileSync(p('davpass'), 'chosen-password\n');
    const b = await serve(p('v'), ['--password-file', p('davpass'), '--port', String(a.port)]);
    try {
      expect(b.password).toBe('chosen-password');
      expect(b.port).toBe(a.port);
      expect((await request(b, 'PROPFIND', '/', undefined, { Depth: '0' })).status).toBe(207);
    } finally {
      b.child.kill('SIGTERM');
    }
    expect(await b.exited).toBe(0);
    const bad = await runCoffer(['vault', 'serve', p('v'), ...PASS, '--port', 'x'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stdout.toString()).toBe('');
  });

  it('a 1 GiB PUT and GET through the drive: byte-identical, server peak RSS under 200 MiB', async () => {
    const s = await serve(p('v'));
    try {
      const g = generated(1024);
      const put = await request(s, 'PUT', '/big.bin', g.stream);
      expect(put.status).toBe(201);
      const get = await request(s, 'GET', '/big.bin');
      expect(get.status).toBe(200);
      expect(get.bytes).toBe(1 << 30);
      expect(get.hash).toBe(await g.digest);
      const tail = await request(s, 'GET', '/big.bin', undefined, { Range: `bytes=${(1 << 30) - 1000}-` });
      expect(tail.status).toBe(206);
      expect(tail.bytes).toBe(1000);
      const rss = peakRssMiB(s.child.pid as number);
      console.log(`serve: 1 GiB PUT + GET, server peak RSS ${rss.toFixed(1)} MiB`);
      expect(rss).toBeLessThan(200);
      expect((await request(s, 'DELETE', '/big.bin')).status).toBe(204);
    } finally {
      s.child.kill('SIGTERM');
    }
    expect(await s.exited).toBe(0);
  });

  it('the CLI and the drive writing the same file at once: every write is a version, none lost', async () => {
    const s = await serve(p('v'));
    const n = 4;
    try {
      expect((await request(s, 'PUT', '/shared.txt', Buffer.from('v1'))).status).toBe(201);
      mkdirSync(p('cli-src'), { recursive: true });
      const jobs: Promise<unknown>[] = [];
      for (let i = 0; i < n; i++) {
        const dir = p(`cli-src/${i}`);
        mkdirSync(dir, { recursive: true });
        writeFileSync(path.join(dir, 'shared.txt'), `cli ${i}`);
        jobs.push(runCoffer(['vault', 'add', p('v'), path.join(dir, 'shared.txt'), ...PASS], { env, timeoutMs: 180_000 }).then((r) => {
          expect(r.code, r.stderr).toBe(0);
        }));
        jobs.push(request(s, 'PUT', '/shared.txt', Buffer.from(`drive ${i}`)).then((r) => {
          expect(r.status).toBe(204);
        }));
      }
      await Promise.all(jobs);
      const ls = await runCoffer(['vault', 'ls', p('v'), 'shared.txt', '--json', ...PASS], { env });
      const [e] = JSON.parse(ls.stdout.toString()) as { version: number }[];
      expect(e?.version).toBe(1 + 2 * n);
      const pf = await request(s, 'PROPFIND', '/shared.txt', undefined, { Depth: '0' });
      expect(pf.text).toMatch(new RegExp(`-${1 + 2 * n}&quot;</D:getetag>`));
    } finally {
      s.child.kill('SIGTERM');
    }
    expect(await s.exited).toBe(0);
  });

  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`${sig} with an upload in flight: exit 0, the upload is abandoned and nothing half-written is left`, async () => {
      const s = await serve(p('v'));
      let sent = 0;
      const body = new Readable({
        read() {
          if (sent >= 8 << 20) return; // then stall: the upload stays in flight
          sent += 1 << 20;
          this.push(randomBytes(1 << 20));
        },
      });
      const put = request(s, 'PUT', `/inflight-${sig}.bin`, body, { 'Content-Length': String(64 << 20) }).catch((e: Error) => e);
      while (sent < 8 << 20) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 300));
      s.child.kill(sig);
      expect(await s.exited).toBe(0);
      expect(s.stderr()).toContain(`${sig}: stopping`);
      await put;
      body.destroy();
      const ls = await runCoffer(['vault', 'ls', p('v'), '--json', ...PASS], { env });
      expect((JSON.parse(ls.stdout.toString()) as { path: string }[]).map((e) => e.path)).not.toContain(`inflight-${sig}.bin`);
      expect(tmpLeftovers(p('v'))).toEqual([]);
    });
  }
});
