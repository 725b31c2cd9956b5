import { describe, expect, it, afterEach } from 'vitest';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { initSodium } from '../../../main/core/crypto/sodium';
import { X25519Identity } from '../../../main/core/keys/x25519';
import { openVault } from '../../../main/core/vault';
import type { UnlockCredentials } from '../../../main/core/vault/slots';
import { sandbox, type Sandbox } from './helpers';

const VEC = path.resolve(__dirname, '../../vectors/vault');
const expected = JSON.parse(readFileSync(path.join(VEC, 'expected.json'), 'utf8')) as {
  outcome: string; vaultId: string; name: string; epoch: string;
  entries: { path: string; type: string; size: number; version: number; conflict: string | null; sha256: string | null }[];
  members: { id: string; type: string; label: string; fingerprint: string }[];
};
const line = (f: string): string => (readFileSync(path.join(VEC, f), 'utf8').split('\n')[0] as string).trim();

let sb: Sandbox;
afterEach(() => sb?.cleanup());

describe('frozen vault vector (test/vectors/vault)', () => {
  const creds: [string, () => UnlockCredentials][] = [
    ['passphrase', () => ({ passphrase: line('passphrase.txt') })],
    ['recovery key', () => ({ recoveryKey: line('recovery-key.txt') })],
    ['x25519 member', () => ({ identities: [X25519Identity.parse(line('member.key'))] })],
  ];
  for (const [label, make] of creds) {
    it(`opens with the ${label} and shows the expected listing and contents`, async () => {
      expect(expected.outcome).toBe('success');
      await initSodium();
      sb = sandbox();
      cpSync(path.join(VEC, 'v1'), sb.dir, { recursive: true });
      const v = await openVault(sb.dir, { credentials: make(), stateDir: sb.state });
      expect(v.id).toBe(expected.vaultId);
      expect(v.name).toBe(expected.name);
      expect(v.epoch).toBe(expected.epoch);
      const got = [];
      for (const e of v.list('', { recursive: true })) {
        let sha256: string | null = null;
        if (e.type === 'file') {
          const h = createHash('sha256');
          await v.readFile(e.path, new Writable({ write: (c: Buffer, _e, cb) => { h.update(c); cb(); } }));
          sha256 = h.digest('hex');
        }
        got.push({ path: e.path, type: e.type, size: e.size, version: e.version, conflict: e.conflict?.source ?? null, sha256 });
      }
      expect(got).toEqual(expected.entries);
      expect((await v.members()).slots.map((s) => ({ id: s.id, type: s.type, label: s.label, fingerprint: s.fingerprint }))).toEqual(expected.members);
      const rep = await v.verify();
      expect(rep.ok).toBe(true);
      expect(rep.problems.map((p) => p.code)).toEqual(['CONFLICT']);
      v.lock();
    });
  }

  it('refuses a wrong passphrase', async () => {
    await initSodium();
    sb = sandbox();
    cpSync(path.join(VEC, 'v1'), sb.dir, { recursive: true });
    await expect(openVault(sb.dir, { credentials: { passphrase: 'not it' }, stateDir: sb.state })).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
  });
});

const V2 = path.join(VEC, 'v2');
const expected2 = JSON.parse(readFileSync(path.join(VEC, 'expected-v2.json'), 'utf8')) as {
  outcome: string; format: number; vaultId: string; name: string; epoch: string;
  credentials: { passphrase: string; recoveryKey: string; member: string };
  entries: { path: string; type: string; size: number; version: number; conflict: string | null; sha256: string | null }[];
  members: { id: string; type: string; label: string; fingerprint: string; status: string }[];
  problems: { severity: string; code: string; object: string }[];
};

describe('frozen format 2 vault vector (test/vectors/vault/v2: a revocation with a manifest, and the revoked member\'s fork and forgery)', () => {
  const creds: [string, () => UnlockCredentials][] = [
    ['passphrase', () => ({ passphrase: expected2.credentials.passphrase })],
    ['recovery key', () => ({ recoveryKey: expected2.credentials.recoveryKey })],
    ['x25519 member', () => ({ identities: [X25519Identity.parse(expected2.credentials.member)] })],
  ];
  for (const [label, make] of creds) {
    it(`opens with the ${label}: the expected listing, contents, members and problems`, async () => {
      expect(expected2.outcome).toBe('success');
      await initSodium();
      sb = sandbox();
      cpSync(V2, sb.dir, { recursive: true });
      const v = await openVault(sb.dir, { credentials: make(), stateDir: sb.state });
      expect([v.id, v.name, v.epoch, v.formatVersion]).toEqual([expected2.vaultId, expected2.name, expected2.epoch, expected2.format]);
      const got = [];
      for (const e of v.list('', { recursive: true })) {
        let sha256: string | null = null;
        if (e.type === 'file') {
          const h = createHash('sha256');
          await v.readFile(e.path, new Writable({ write: (c: Buffer, _e, cb) => { h.update(c); cb(); } }));
          sha256 = h.digest('hex');
        }
        got.push({ path: e.path, type: e.type, size: e.size, version: e.version, conflict: e.conflict?.source ?? null, sha256 });
      }
      expect(got).toEqual(expected2.entries);
      expect((await v.members()).slots.map((s) => ({ id: s.id, type: s.type, label: s.label, fingerprint: s.fingerprint, status: s.status }))).toEqual(expected2.members);
      const problems = v.problems.map((p) => ({ severity: p.severity, code: p.code, object: p.object })).sort((a, b) => a.object.localeCompare(b.object) || a.code.localeCompare(b.code));
      expect(problems).toEqual(expected2.problems);
      expect(v.warnings).toHaveLength(1); // first open on this "computer"
      v.lock();
    });
  }
});
