import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { call, b64 } from './client';

const root = path.resolve(__dirname, '../../..');

describe('npm run transit-dev', () => {
  it('prints Api Address and Root Token on their own lines, warns, and serves Transit over TLS', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'coffer-transit-devtest-'));
    const child = spawn(process.execPath, [path.join(root, 'build/transit-dev.mjs'), '--port', '0', '--tls', '--dir', dir], { cwd: root });
    let out = '';
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no banner in time; got:\n${out}`)), 30_000);
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (/^Root Token: .+$/m.test(out)) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      expect(out).toMatch(/DEVELOPMENT ONLY/);
      expect(out).toMatch(/not HashiCorp Vault/);
      const addr = /^Api Address: (https:\/\/127\.0\.0\.1:\d+)$/m.exec(out)?.[1] as string;
      const token = /^Root Token: (hvs\.\S+)$/m.exec(out)?.[1] as string;
      const caFile = /VAULT_CACERT='([^']+)'/.exec(out)?.[1] as string;
      expect(addr).toBeTruthy();
      const ca = readFileSync(caFile, 'utf8');
      const r = await call(addr, 'POST', 'transit/encrypt/devkey', { plaintext: b64('hi') }, { token, ca });
      expect(r.status).toBe(200);
      expect(r.body.data.ciphertext).toMatch(/^vault:v1:/);
    } finally {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
