/**
 * A vault with a hardware-key slot (SoftHSM2) plus the recovery key: each one unlocks it alone; the
 * hardware key is asked for its PIN only for its own slot; a wrong PIN is reported, not hidden.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initSodium } from '../../../../main/core/crypto/sodium';
import { enrollHardwareKey, PivP256Identity, type EnrollResult } from '../../../../main/core/keys/pkcs11-p256';
import { X25519Identity } from '../../../../main/core/keys/x25519';
import { initVault, openVault, readVaultInfo } from '../../../../main/core/vault';
import type { ProviderNotice, ProviderUI, SecretRequest } from '../../../../main/core/keys/types';
import { createSoftHsm, type SoftHsm } from '../../../fixtures/softhsm';

class RecordingUI implements ProviderUI {
  readonly prompts: SecretRequest[] = [];
  readonly notices: ProviderNotice[] = [];
  constructor(private readonly answers: string[]) {}
  requestSecret(req: SecretRequest): Promise<string> {
    this.prompts.push(req);
    const a = this.answers.shift();
    return a === undefined ? Promise.reject(new Error('unexpected prompt')) : Promise.resolve(a);
  }
  notify(n: ProviderNotice): void {
    this.notices.push(n);
  }
}

const PIN = '135790';
let hsm: SoftHsm;
let work: string;
let hw: EnrollResult;

beforeAll(async () => {
  await initSodium();
  hsm = createSoftHsm();
  hsm.initToken('vault-token', PIN);
  work = mkdtempSync(path.join(tmpdir(), 'coffer-hwvault-'));
  hw = await enrollHardwareKey({ modulePath: hsm.modulePath, mode: 'generate', label: 'vault key', ui: new RecordingUI([PIN]) });
});
afterAll(() => {
  hsm?.destroy();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('vault with a hardware slot and a recovery key', () => {
  it('is unlocked by the token alone and by the recovery key alone', async () => {
    const dir = path.join(work, 'v1');
    const state = path.join(work, 'state');
    const member = X25519Identity.generate();
    // Locking a vault wipes the identities it was given, so each unlock below parses the key afresh.
    const memberText = member.toString();
    const { vault, recoveryKey } = await initVault(dir, {
      name: 'HW',
      recipients: [{ recipient: member.recipient().toString() }, { recipient: hw.recipient.toString(), label: 'YubiKey' }],
      stateDir: state,
    });
    const slots = (await vault.members()).slots;
    expect(slots.map((s) => s.type).sort()).toEqual(['piv-p256', 'recovery', 'x25519']);
    const hwSlot = slots.find((s) => s.type === 'piv-p256');
    expect(hwSlot?.fingerprint).toBe(hw.recipient.fingerprint);
    expect(hwSlot?.label).toBe('YubiKey');
    await vault.mkdir('docs');
    vault.lock();

    // The token: one PIN prompt, one touch notice, whatever the order of the slots.
    const ui = new RecordingUI([PIN]);
    const byToken = await openVault(dir, { credentials: { identities: [new PivP256Identity(hw.stub)] }, ui, stateDir: state });
    expect(byToken.list().map((e) => e.path)).toEqual(['docs']);
    expect(ui.prompts).toHaveLength(1);
    expect(ui.prompts[0]?.kind).toBe('pin');
    expect(ui.notices.filter((n) => n.kind === 'touch')).toHaveLength(1);
    await byToken.mkdir('docs/by-token');
    byToken.lock();

    // The recovery key: no token, no prompt.
    const byRecovery = await openVault(dir, { credentials: { recoveryKey }, ui: new RecordingUI([]), stateDir: state });
    expect(byRecovery.list('', { recursive: true }).map((e) => e.path).sort()).toEqual(['docs', 'docs/by-token']);
    byRecovery.lock();

    // A wrong PIN is reported as such (the member key is not given, so nothing else opens it).
    await expect(openVault(dir, { credentials: { identities: [new PivP256Identity(hw.stub)] }, ui: new RecordingUI(['000000']), stateDir: state })).rejects.toMatchObject({ code: 'PIN_INCORRECT' });

    // With a member key and the token together, the member key opens it and the token is never asked,
    // whatever the (random) order of the slots: keys that need no person are tried on every slot first.
    for (let i = 0; i < 3; i++) {
      const quietToo = new RecordingUI([]);
      const byMember = await openVault(dir, { credentials: { identities: [new PivP256Identity(hw.stub), X25519Identity.parse(memberText)] }, ui: quietToo, stateDir: state });
      expect(byMember.list().map((e) => e.path)).toEqual(['docs']);
      expect(quietToo.prompts).toHaveLength(0);
      expect(quietToo.notices).toHaveLength(0);
      byMember.lock();
    }
    // The member key alone (no token given) opens it with no prompt at all.
    const quiet = new RecordingUI([]);
    const memberOnly = await openVault(dir, { credentials: { identities: [X25519Identity.parse(memberText)] }, ui: quiet, stateDir: state });
    expect(quiet.prompts).toHaveLength(0);
    memberOnly.lock();
    member.destroy();
  });

  it('when the hardware slot comes first, a member key still opens the vault without asking the token', async () => {
    const member = X25519Identity.generate();
    const memberText = member.toString();
    // Slot ids are random: make vaults until the hardware slot is listed before the member's.
    let dir = '';
    for (let i = 0; i < 40 && !dir; i++) {
      const d = path.join(work, `order-${i}`);
      const { vault } = await initVault(d, { recipients: [{ recipient: member.recipient().toString() }, { recipient: hw.recipient.toString() }], stateDir: path.join(work, 'state-order') });
      vault.lock();
      const types = (await readVaultInfo(d)).slots.map((x) => x.type).filter((t) => t !== 'recovery');
      if (types[0] === 'piv-p256') dir = d;
    }
    expect(dir).not.toBe('');
    const ui = new RecordingUI([]);
    const v = await openVault(dir, { credentials: { identities: [new PivP256Identity(hw.stub), X25519Identity.parse(memberText)] }, ui, stateDir: path.join(work, 'state-order') });
    expect(ui.prompts).toHaveLength(0);
    v.lock();
    member.destroy();
  });

  it('a token whose key is not a member is not prompted and the vault stays locked', async () => {
    const other = await enrollHardwareKey({ modulePath: hsm.modulePath, mode: 'generate', label: 'not a member', ui: new RecordingUI([PIN]) });
    const dir = path.join(work, 'v2');
    const state = path.join(work, 'state2');
    const { vault } = await initVault(dir, { recipients: [{ recipient: hw.recipient.toString() }], stateDir: state });
    vault.lock();
    const ui = new RecordingUI([PIN]);
    await expect(openVault(dir, { credentials: { identities: [new PivP256Identity(other.stub)] }, ui, stateDir: state })).rejects.toMatchObject({ code: 'NO_IDENTITY' });
    expect(ui.prompts).toHaveLength(0);
  });
});
