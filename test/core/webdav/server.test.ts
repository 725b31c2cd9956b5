/**
 * The WebDAV drive in-process: the gate (auth, Host, no CORS), the protocol details litmus does not
 * reach (Range, depth limits, interrupted uploads, shutdown), dead properties inside the encrypted
 * records, macOS metadata kept out of the vault, and other writers' changes seen without a restart.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { basic, dav, otherWriter, PASSWORD, startDrive, USER, type Drive } from './helpers';

let d: Drive;
beforeEach(async () => {
  d = await startDrive();
});
afterEach(async () => {
  await d.stop();
});

function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const f = path.join(dir, n);
    if (statSync(f).isDirectory()) out.push(...allFiles(f));
    else out.push(f);
  }
  return out;
}

const until = async (cond: () => boolean): Promise<void> => {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
};

describe('the gate', () => {
  it('attack: reading a file with no credentials or a wrong password gets 401 and no content (positive control: the right password reads it)', async () => {
    expect((await dav(d, 'PUT', '/secret.txt', { body: 'top secret' })).status).toBe(201);
    const none = await dav(d, 'GET', '/secret.txt', { auth: null });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic realm="coffer"/);
    expect(none.text).not.toContain('top secret');
    for (const auth of [basic(USER, 'wrong'), basic('admin', PASSWORD), basic(USER, `${PASSWORD}x`), 'Bearer abc', `Basic ${'!'.repeat(8)}`]) {
      const r = await dav(d, 'GET', '/secret.txt', { auth });
      expect(r.status, auth).toBe(401);
      expect(r.text).not.toContain('top secret');
    }
    const ok = await dav(d, 'GET', '/secret.txt');
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('top secret');
  });

  it('attack: DNS rebinding — a page on attacker.example resolved to 127.0.0.1 sends its own Host and is refused, even with the password (control: 127.0.0.1 and localhost pass)', async () => {
    await dav(d, 'PUT', '/secret.txt', { body: 'top secret' });
    for (const host of [`attacker.example:${d.port}`, 'attacker.example', `127.0.0.1:${d.port + 1}`, `127.0.0.1.attacker.example:${d.port}`]) {
      const r = await dav(d, 'GET', '/secret.txt', { host });
      expect(r.status, host).toBe(421);
      expect(r.text).not.toContain('top secret');
      expect(r.headers['www-authenticate']).toBeUndefined(); // no password prompt for a foreign page either
    }
    // HTTP/1.0 without any Host at all: refused too.
    const raw = await new Promise<string>((resolve, reject) => {
      const s = net.connect(d.port, '127.0.0.1', () => s.end(`GET /secret.txt HTTP/1.0\r\nAuthorization: ${basic(USER, PASSWORD)}\r\n\r\n`));
      let out = '';
      s.on('data', (c: Buffer) => { out += c.toString(); });
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 421 /);
    expect(raw).not.toContain('top secret');
    expect((await dav(d, 'GET', '/secret.txt', { host: `127.0.0.1:${d.port}` })).text).toBe('top secret');
    expect((await dav(d, 'GET', '/secret.txt', { host: `localhost:${d.port}` })).text).toBe('top secret');
  });

  it('attack: a cross-origin page gets no CORS headers, so its browser cannot read any answer (preflight included)', async () => {
    const origin = { Origin: 'https://attacker.example', 'Access-Control-Request-Method': 'PROPFIND', 'Access-Control-Request-Headers': 'authorization,depth' };
    for (const [method, auth] of [['OPTIONS', null], ['OPTIONS', undefined], ['GET', undefined], ['PROPFIND', undefined]] as const) {
      const r = await dav(d, method, '/', { headers: origin, auth });
      expect(Object.keys(r.headers).filter((h) => h.startsWith('access-control-')), `${method}`).toEqual([]);
    }
  });

  it('listens on the loopback address only', () => {
    expect(d.url).toBe(`http://127.0.0.1:${d.port}/`);
    const addr = (d.server as unknown as { server: http.Server }).server.address();
    expect(addr).toMatchObject({ address: '127.0.0.1' });
  });

  it('read-only: reads work, every change is refused with 403 and leaves the vault unchanged', async () => {
    await dav(d, 'PUT', '/a.txt', { body: 'alpha' });
    const ro = await startDrive({ readOnly: true });
    try {
      const w = await dav(ro, 'PUT', '/a.txt', { body: 'alpha' });
      expect(w.status).toBe(403);
      for (const m of ['MKCOL', 'DELETE', 'PROPPATCH', 'LOCK', 'MOVE', 'COPY']) expect((await dav(ro, m, '/x', { headers: { Destination: `http://127.0.0.1:${ro.port}/y` } })).status, m).toBe(403);
      expect(ro.vault.list('')).toEqual([]);
      expect((await dav(ro, 'PROPFIND', '/', { headers: { Depth: '1' } })).status).toBe(207);
    } finally {
      await ro.stop();
    }
  });
});

describe('protocol', () => {
  it('GET with Range decrypts from the start and sends exactly the asked bytes (across 64 KiB chunks)', async () => {
    const data = randomBytes(200_000);
    expect((await dav(d, 'PUT', '/r.bin', { body: data })).status).toBe(201);
    const cases: [string, number, number][] = [['bytes=0-9', 0, 9], ['bytes=65530-131080', 65530, 131080], ['bytes=-100', 199_900, 199_999], ['bytes=199990-', 199_990, 199_999], ['bytes=5-999999', 5, 199_999]];
    for (const [h, s, e] of cases) {
      const r = await dav(d, 'GET', '/r.bin', { headers: { Range: h } });
      expect(r.status, h).toBe(206);
      expect(r.headers['content-range']).toBe(`bytes ${s}-${e}/200000`);
      expect(r.body.equals(data.subarray(s, e + 1)), h).toBe(true);
    }
    const bad = await dav(d, 'GET', '/r.bin', { headers: { Range: 'bytes=200000-' } });
    expect(bad.status).toBe(416);
    expect(bad.headers['content-range']).toBe('bytes */200000');
    const full = await dav(d, 'GET', '/r.bin');
    expect(full.status).toBe(200);
    expect(full.body.equals(data)).toBe(true);
    const stale = await dav(d, 'GET', '/r.bin', { headers: { Range: 'bytes=0-9', 'If-Range': '"not-the-etag"' } });
    expect(stale.status).toBe(200);
  });

  it('PROPFIND: depth 0 and 1 answer, infinity is refused with propfind-finite-depth', async () => {
    await dav(d, 'MKCOL', '/f');
    await dav(d, 'PUT', '/f/a.txt', { body: 'a' });
    const inf = await dav(d, 'PROPFIND', '/', { headers: { Depth: 'infinity' } });
    expect(inf.status).toBe(403);
    expect(inf.text).toContain('propfind-finite-depth');
    expect((await dav(d, 'PROPFIND', '/')).status).toBe(403); // no Depth means infinity
    const one = await dav(d, 'PROPFIND', '/f/', { headers: { Depth: '1' } });
    expect(one.status).toBe(207);
    expect(one.text).toContain('<D:href>/f/a.txt</D:href>');
    expect(one.text).toContain('<D:getcontentlength>1</D:getcontentlength>');
    const zero = await dav(d, 'PROPFIND', '/f/', { headers: { Depth: '0' } });
    expect(zero.text).not.toContain('a.txt');
    expect((await dav(d, 'PROPFIND', '/f/', { headers: { Depth: '0' }, body: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>' })).status).toBe(400);
  });

  it('listings asked again are never stale: new content, new properties and other writers\' changes show up', async () => {
    const ask = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:z"><D:prop><D:getcontentlength/><D:getetag/><Z:tag/></D:prop></D:propfind>';
    await dav(d, 'PUT', '/c.txt', { body: 'one' });
    const first = await dav(d, 'PROPFIND', '/', { headers: { Depth: '1' }, body: ask });
    expect(first.text).toContain('<D:getcontentlength>3</D:getcontentlength>');
    expect((await dav(d, 'PROPFIND', '/', { headers: { Depth: '1' }, body: ask })).text).toBe(first.text);
    await dav(d, 'PUT', '/c.txt', { body: 'three' });
    const second = await dav(d, 'PROPFIND', '/', { headers: { Depth: '1' }, body: ask });
    expect(second.text).toContain('<D:getcontentlength>5</D:getcontentlength>');
    const other = await otherWriter(d);
    await other.setProps('c.txt', { '{urn:z}tag': 'set elsewhere' });
    other.lock();
    expect((await dav(d, 'PROPFIND', '/', { headers: { Depth: '1' }, body: ask })).text).toContain('set elsewhere');
    // Whole listings are reused only while nothing in the folder changed: each kind of change shows.
    const list = async (p = '/'): Promise<string> => (await dav(d, 'PROPFIND', p, { headers: { Depth: '1' } })).text;
    await dav(d, 'MKCOL', '/sub/');
    await dav(d, 'PUT', '/sub/a.txt', { body: 'a' });
    expect(await list('/sub/')).toContain('/sub/a.txt');
    expect(await list('/sub/')).toBe(await list('/sub/'));
    await dav(d, 'PUT', '/sub/b.txt', { body: 'b' });
    expect(await list('/sub/')).toContain('/sub/b.txt');
    await dav(d, 'MOVE', '/sub/a.txt', { headers: { Destination: `http://127.0.0.1:${d.port}/sub/renamed.txt` } });
    expect(await list('/sub/')).not.toContain('/sub/a.txt');
    expect(await list('/sub/')).toContain('/sub/renamed.txt');
    await dav(d, 'DELETE', '/sub/b.txt');
    expect(await list('/sub/')).not.toContain('/sub/b.txt');
    await dav(d, 'PUT', '/sub/._renamed.txt', { body: 'finder' });
    expect(await list('/sub/')).toContain('/sub/._renamed.txt');
    await dav(d, 'PUT', '/sub/._renamed.txt', { body: 'finder, longer' });
    expect(await list('/sub/')).toContain('<D:getcontentlength>14</D:getcontentlength>');
    const w = await otherWriter(d);
    await w.mv('sub/renamed.txt', 'sub/by-other.txt');
    w.lock();
    expect(await list('/sub/')).toContain('/sub/by-other.txt');
  });

  it('an upload cut off midway leaves nothing: no entry, no blob, no temp file', async () => {
    const before = allFiles(d.sb.dir).filter((f) => !f.includes(`${path.sep}tmp${path.sep}`)).sort();
    const req = http.request({ host: '127.0.0.1', port: d.port, method: 'PUT', path: '/big.bin', headers: { Host: `127.0.0.1:${d.port}`, Authorization: basic(USER, PASSWORD), 'Content-Length': String(50 << 20) } });
    req.on('error', () => undefined);
    req.write(randomBytes(3 << 20));
    await until(() => d.server.active > 0);
    await new Promise((r) => setTimeout(r, 200));
    req.destroy();
    await until(() => d.server.active === 0);
    expect(d.vault.list('')).toEqual([]);
    const after = allFiles(d.sb.dir).filter((f) => !f.includes(`${path.sep}tmp${path.sep}`)).sort();
    expect(after).toEqual(before);
    expect(allFiles(d.sb.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a reader that goes away mid-download frees the request (full file and range), nothing hangs', async () => {
    const other = await otherWriter(d);
    const block = randomBytes(1 << 20);
    await other.addStream('dl.bin', Readable.from(Array.from({ length: 24 }, () => block)));
    other.lock();
    for (const range of [undefined, 'bytes=100-']) {
      await new Promise<void>((resolve, reject) => {
        const headers: Record<string, string> = { Host: `127.0.0.1:${d.port}`, Authorization: basic(USER, PASSWORD) };
        if (range) headers.Range = range;
        const req = http.get({ host: '127.0.0.1', port: d.port, path: '/dl.bin', headers, agent: false }, (res) => {
          res.once('data', () => {
            res.pause(); // read one chunk, then stop reading and hang up
            setTimeout(() => {
              req.destroy();
              resolve();
            }, 100);
          });
        });
        req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
      });
      await until(() => d.server.active === 0);
    }
    expect((await dav(d, 'GET', '/dl.bin', { headers: { Range: 'bytes=0-3' } })).body.equals(block.subarray(0, 4))).toBe(true);
  });

  it('stopping the server abandons uploads in flight cleanly', async () => {
    const body = new PassThrough();
    const put = dav(d, 'PUT', '/inflight.bin', { body, headers: { 'Content-Length': String(20 << 20) } }).catch((e: Error) => e);
    body.write(randomBytes(1 << 20));
    await until(() => d.server.active > 0);
    await d.server.close();
    await put;
    const other = await otherWriter(d);
    expect(other.list('')).toEqual([]);
    other.lock();
    expect(allFiles(d.sb.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('dead properties live inside the encrypted record: not in any file of the folder, back after reopening', async () => {
    await dav(d, 'PUT', '/p.txt', { body: 'x' });
    const marker = 'dead-property-marker-5f1c';
    const pp = await dav(d, 'PROPPATCH', '/p.txt', { body: `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:color>${marker}<Z:b xmlns:Q="urn:q" Q:a="1">bold</Z:b></Z:color></D:prop></D:set></D:propertyupdate>` });
    expect(pp.status).toBe(207);
    expect(pp.text).toContain('200 OK');
    for (const f of allFiles(d.sb.dir)) expect(readFileSync(f).includes(Buffer.from(marker)), f).toBe(false);
    const other = await otherWriter(d);
    expect(other.props('p.txt')['{urn:z}color']).toContain(marker);
    other.lock();
    const pf = await dav(d, 'PROPFIND', '/p.txt', { headers: { Depth: '0' }, body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><Z:color xmlns:Z="urn:z"/></D:prop></D:propfind>' });
    expect(pf.text).toContain(marker);
    expect(pf.text).toContain('<b xmlns="urn:z" xmlns:a0="urn:q" a0:a="1">bold</b>');
    // Protected live properties cannot be set; the whole PROPPATCH fails (403 + 424), nothing changes.
    const live = await dav(d, 'PROPPATCH', '/p.txt', { body: '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getetag>x</D:getetag><D:other>y</D:other></D:prop></D:set></D:propertyupdate>' });
    expect(live.text).toContain('403 Forbidden');
    expect(live.text).toContain('424 Failed Dependency');
    expect(Object.keys(d.vault.props('p.txt'))).toEqual(['{urn:z}color']);
  });

  it('properties beyond the bound are refused (507), the record stays as it was', async () => {
    await dav(d, 'PUT', '/p.txt', { body: 'x' });
    const big = 'v'.repeat(70 * 1024);
    const r = await dav(d, 'PROPPATCH', '/p.txt', { body: `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><Z:big xmlns:Z="urn:z">${big}</Z:big></D:prop></D:set></D:propertyupdate>` });
    expect(r.status).toBe(207);
    expect(r.text).toContain('507');
    expect(d.vault.props('p.txt')).toEqual({});
  });

  it('macOS ._* and .DS_Store files are served for the session but never enter the vault', async () => {
    await dav(d, 'MKCOL', '/docs');
    expect((await dav(d, 'PUT', '/docs/._report.pdf', { body: 'apple double' })).status).toBe(201);
    expect((await dav(d, 'PUT', '/docs/.DS_Store', { body: 'finder' })).status).toBe(201);
    expect((await dav(d, 'GET', '/docs/._report.pdf')).text).toBe('apple double');
    const list = await dav(d, 'PROPFIND', '/docs/', { headers: { Depth: '1' } });
    expect(list.text).toContain('/docs/._report.pdf');
    expect(list.text).toContain('/docs/.DS_Store');
    expect(d.vault.list('docs')).toEqual([]);
    const other = await otherWriter(d);
    expect(other.list('', { recursive: true }).map((e) => e.path)).toEqual(['docs']);
    other.lock();
    expect((await dav(d, 'DELETE', '/docs/.DS_Store')).status).toBe(204);
    expect((await dav(d, 'GET', '/docs/.DS_Store')).status).toBe(404);
  });

  it('changes by another process are seen without a restart, and the drive\'s changes reach it', async () => {
    const other = await otherWriter(d);
    try {
      await other.addStream('from-cli.txt', Readable.from([Buffer.from('cli')]));
      await other.mkdir('cli-folder');
      const pf = await dav(d, 'PROPFIND', '/', { headers: { Depth: '1' } });
      expect(pf.text).toContain('/from-cli.txt');
      expect(pf.text).toContain('/cli-folder/');
      expect((await dav(d, 'GET', '/from-cli.txt')).text).toBe('cli');
      await other.rm('from-cli.txt');
      expect((await dav(d, 'GET', '/from-cli.txt')).status).toBe(404);
      await dav(d, 'PUT', '/from-drive.txt', { body: 'drive' });
      await other.refresh();
      expect(other.stat('from-drive.txt')?.size).toBe(5);
    } finally {
      other.lock();
    }
  });

  it('concurrent writers lose no update: every PUT and every other writer\'s add becomes its own version', async () => {
    await dav(d, 'PUT', '/same.txt', { body: 'v1' });
    const other = await otherWriter(d);
    try {
      const n = 6;
      const results = await Promise.all([
        ...Array.from({ length: n }, (_, i) => dav(d, 'PUT', '/same.txt', { body: `drive ${i}` })),
        ...Array.from({ length: n }, (_, i) => other.addStream('same.txt', Readable.from([Buffer.from(`other ${i}`)]))),
      ]);
      for (const r of results.slice(0, n)) expect((r as { status: number }).status).toBe(204);
      const pf = await dav(d, 'PROPFIND', '/same.txt', { headers: { Depth: '0' } });
      expect(pf.status).toBe(207);
      await other.refresh();
      expect(other.stat('same.txt')?.version).toBe(1 + 2 * n);
      expect(d.vault.stat('same.txt')?.version).toBe(1 + 2 * n);
    } finally {
      other.lock();
    }
  });

  it('locks: a locked file refuses a writer without the token (423), accepts the holder, and unlocks', async () => {
    await dav(d, 'PUT', '/l.txt', { body: 'x' });
    const lk = await dav(d, 'LOCK', '/l.txt', { headers: { Timeout: 'Second-30' }, body: '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>me</D:owner></D:lockinfo>' });
    expect(lk.status).toBe(200);
    const token = /<(urn:uuid:[^>]+)>/.exec(lk.headers['lock-token'] as string)?.[1] as string;
    expect(lk.text).toContain('<D:timeout>Second-30</D:timeout>');
    expect((await dav(d, 'PUT', '/l.txt', { body: 'y' })).status).toBe(423);
    expect((await dav(d, 'DELETE', '/l.txt')).status).toBe(423);
    expect((await dav(d, 'PUT', '/l.txt', { body: 'y', headers: { If: `(<${token}>)` } })).status).toBe(204);
    expect((await dav(d, 'UNLOCK', '/l.txt', { headers: { 'Lock-Token': `<${token}>` } })).status).toBe(204);
    expect((await dav(d, 'DELETE', '/l.txt')).status).toBe(204);
  });
});

describe('editor saves', () => {
  it('write a locked temp file, MOVE it over the locked original: the original keeps its lock and the next PUT lands (the davfs2 / sed -i way)', async () => {
    const lockBody = '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>';
    await dav(d, 'PUT', '/a.txt', { body: 'one' });
    const la = /<([^>]+)>/.exec((await dav(d, 'LOCK', '/a.txt', { body: lockBody })).headers['lock-token'] as string)?.[1] as string;
    const lt = /<([^>]+)>/.exec((await dav(d, 'LOCK', '/tmp123', { body: lockBody })).headers['lock-token'] as string)?.[1] as string;
    expect((await dav(d, 'PUT', '/tmp123', { body: 'ONE', headers: { If: `(<${lt}>)` } })).status).toBe(204);
    const mv = await dav(d, 'MOVE', '/tmp123', { headers: { Destination: `http://127.0.0.1:${d.port}/a.txt`, If: `</tmp123> (<${lt}>) </a.txt> (<${la}>)` } });
    expect(mv.status).toBe(204);
    // The lock of a.txt survived the overwrite: refreshing it and writing with it still work.
    expect((await dav(d, 'LOCK', '/a.txt', { headers: { If: `(<${la}>)` } })).status).toBe(200);
    expect((await dav(d, 'PUT', '/a.txt', { body: 'ONE!', headers: { If: `(<${la}>)` } })).status).toBe(204);
    expect((await dav(d, 'PUT', '/a.txt', { body: 'intruder' })).status).toBe(423);
    expect((await dav(d, 'GET', '/a.txt')).text).toBe('ONE!');
    expect((await dav(d, 'UNLOCK', '/a.txt', { headers: { 'Lock-Token': `<${la}>` } })).status).toBe(204);
  });
});
