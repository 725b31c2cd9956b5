import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { coreVault, originalName } from '../../main/services/core-vault';
import { X25519Identity } from '../../main/core/keys/x25519';
import { formUI } from '../../main/services/ui';

describe('core-vault adapter', () => {
  it('maps a conflict version’s shown name back to the entry it stands beside', () => {
    expect(originalName('plan (conflict 1).txt')).toBe('plan.txt');
    expect(originalName('archive.tar (conflict 12).gz')).toBe('archive.tar.gz');
    expect(originalName('Notes (conflict 2)')).toBe('Notes');
    expect(originalName('plan (conflict).txt')).toBe('plan (conflict).txt');
  });

  it('speaks the app’s paths ("/a/b") over the core’s ("a/b"), including peek before unlocking', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'coffer-adapter-'));
    const core = coreVault(path.join(dir, 'state'));
    const ui = formUI({}, () => undefined);
    const { vault, recoveryKey } = await core.create(path.join(dir, 'v'), { name: 'Adapter', passphrase: null, recipients: [{ recipient: X25519Identity.generate().recipient().toString(), label: 'm' }] }, ui);
    expect(recoveryKey.length).toBeGreaterThan(20);
    await vault.mkdir('/Reports/2026');
    expect(await vault.list('/')).toMatchObject([{ path: '/Reports', name: 'Reports', type: 'dir', size: null, conflict: false }]);
    expect(await vault.list('/Reports')).toMatchObject([{ path: '/Reports/2026' }]);
    await vault.move('/Reports/2026', '/2026');
    expect((await vault.list('/')).map((e) => e.path).sort()).toEqual(['/2026', '/Reports']);
    const peek = await core.peek(path.join(dir, 'v'));
    expect(peek).toMatchObject({ id: vault.id, name: 'Adapter' });
    expect(peek.slots.map((s) => s.type).sort()).toEqual(['recovery', 'x25519']);
    vault.close();
    await expect(vault.list('/')).rejects.toMatchObject({ code: 'VAULT_LOCKED' });
  });

  it('shows the first-open rollback warning as a notice, only on a computer that never opened the vault', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'coffer-adapter-'));
    const member = X25519Identity.generate();
    const made = await coreVault(path.join(dir, 'state')).create(path.join(dir, 'v'), { name: 'Fresh', passphrase: null, recipients: [{ recipient: member.recipient().toString(), label: 'm' }] }, formUI({}, () => undefined));
    made.vault.close();
    for (const [state, expected] of [[path.join(dir, 'state'), 0], [path.join(dir, 'other-computer'), 1]] as const) {
      const notices: string[] = [];
      // (lock wipes the identities it was given, so each unlock gets its own copy)
      const v = await coreVault(state).unlock(path.join(dir, 'v'), { identities: [X25519Identity.parse(member.toString())] }, formUI({}, (n) => notices.push(n.message)));
      expect(notices.filter((m) => /cannot tell whether the folder was rolled back/.test(m))).toHaveLength(expected);
      v.close();
    }
  });
});
