/**
 * The admin flow with the CLI alone (in-process, SoftHSM2 as the token): enroll a token, add it to an
 * existing vault, unlock with it, revoke it (+ rotate), and the removed token can no longer unlock.
 * Also `vault init --hwkey RECIPIENT` with the recovery key as the second way in.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hwkeyEnrollCommand } from '../../main/cli/hwkey';
import { vaultCommand } from '../../main/cli/vault';
import type { CliContext } from '../../main/cli/context';
import { nonInteractiveUI } from '../../main/core/keys/types';
import { createSoftHsm, type SoftHsm } from '../fixtures/softhsm';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

let hsm: SoftHsm;
const PIN = '246810';
const p = (n: string): string => path.join(hsm.dir, n);

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ out: string; err: string }> {
  const out = new Capture();
  const err = new Capture();
  const stdin = new PassThrough();
  stdin.end();
  const ctx: CliContext = { stdin, stdout: out, stderr: err, env, ui: nonInteractiveUI, stateDir: p('state') };
  if (args[0] === 'hwkey-enroll') await hwkeyEnrollCommand(args.slice(1), ctx);
  else await vaultCommand(args, ctx);
  return { out: out.text, err: err.text };
}

beforeAll(() => {
  hsm = createSoftHsm();
  hsm.initToken('admin-token', PIN);
  writeFileSync(p('pass'), 'correct horse battery staple\n');
  writeFileSync(p('pin'), `${PIN}\n`);
  writeFileSync(p('report.txt'), 'quarterly numbers\n');
});
afterAll(() => hsm?.destroy());

describe('admin flow: enroll, grant, unlock, revoke, refused', () => {
  it('works end to end with the CLI alone', async () => {
    const vault = p('team-vault');
    const pass = ['--passphrase-file', p('pass')];
    await run(['init', vault, ...pass, '--kdf-params', '1:8']);
    await run(['add', vault, p('report.txt'), ...pass]);

    const enrolled = await run(['hwkey-enroll', '--module', hsm.modulePath, '--generate', '--label', 'admin yubikey', '-o', p('admin.stub'), '--pin-file', p('pin')]);
    const recipient = enrolled.out.split('\n')[0] ?? '';
    expect(recipient).toMatch(/^coffer-piv1/);

    const granted = await run(['grant', vault, '--hwkey', p('admin.stub'), ...pass]);
    const slotId = /granted: slot (\S+) \(piv-p256, fingerprint ([0-9a-f ]+)\) "hardware key \(admin-token, serial [0-9a-f]+\)"/.exec(granted.out);
    expect(slotId).not.toBeNull();
    expect(enrolled.out).toContain(`fingerprint: ${slotId?.[2] ?? ''}`);

    // Unlock with the stub alone; the PIN comes from --pin-file.
    const ls = await run(['ls', vault, '-i', p('admin.stub'), '--pin-file', p('pin')]);
    expect(ls.out.trim()).toBe('report.txt');
    expect(ls.err).toMatch(/Touch your key admin-token/);
    await run(['get', vault, 'report.txt', '-o', p('report.out'), '-i', p('admin.stub')], { COFFER_PIN: PIN });
    expect(readFileSync(p('report.out'), 'utf8')).toBe('quarterly numbers\n');

    // Granting the same key again is refused.
    await expect(run(['grant', vault, '--hwkey', recipient, ...pass])).rejects.toMatchObject({ code: 'EXISTS' });

    // Revoke (rotates), then the token no longer opens the vault; the passphrase still does.
    const members = JSON.parse((await run(['members', vault, '--json', ...pass])).out) as { slots: { id: string; type: string }[] };
    expect(members.slots.find((s) => s.type === 'piv-p256')?.id).toBe(slotId?.[1]);
    const revoked = await run(['revoke', vault, slotId?.[1] ?? '', ...pass]);
    expect(revoked.out).toMatch(/revoked slot/);
    await expect(run(['ls', vault, '-i', p('admin.stub'), '--pin-file', p('pin')])).rejects.toMatchObject({ code: 'NO_IDENTITY' });
    expect((await run(['ls', vault, ...pass])).out.trim()).toBe('report.txt');
  });

  it('vault init --hwkey RECIPIENT: the token and the recovery key each unlock it', async () => {
    const enrolled = await run(['hwkey-enroll', '--module', hsm.modulePath, '--generate', '--label', 'second', '-o', p('second.stub')], { COFFER_PIN: PIN });
    const recipient = enrolled.out.split('\n')[0] ?? '';
    const vault = p('hw-only');
    const init = await run(['init', vault, '--hwkey', recipient]);
    const rk = /^ {4}(\S.*)$/m.exec(init.out)?.[1]?.trim() ?? '';
    expect(rk.length).toBeGreaterThan(20);
    expect(init.out).toMatch(/piv-p256/);
    writeFileSync(p('rk'), `${rk}\n`);
    await run(['mkdir', vault, 'inbox', '-i', p('second.stub')], { COFFER_PIN: PIN });
    expect((await run(['ls', vault, '--recovery-key-file', p('rk')])).out.trim()).toBe('inbox/');
    expect((await run(['ls', vault, '-i', p('second.stub'), '--pin-file', p('pin')])).out.trim()).toBe('inbox/');
    await expect(run(['ls', vault, '-i', p('second.stub')], { COFFER_PIN: '999999' })).rejects.toMatchObject({ code: 'PIN_INCORRECT' });
    await expect(run(['init', p('bad'), '--hwkey', p('no-such.stub')])).rejects.toMatchObject({ code: 'BAD_RECIPIENT' });
  });
});
