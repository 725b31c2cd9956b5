/**
 * `coffer hwkey list|enroll` in-process against SoftHSM2, then the enrolled key used through the
 * ordinary file commands (encrypt -r coffer-piv1…, decrypt -i STUB with COFFER_PIN / --pin-file).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hwkeyCommand, hwkeyEnrollCommand, hwkeyListCommand } from '../../main/cli/hwkey';
import { decryptCommand, encryptCommand } from '../../main/cli/files';
import { UsageError, type CliContext } from '../../main/cli/context';
import { nonInteractiveUI } from '../../main/core/keys/types';
import { CofferError } from '../../main/core/errors';
import { createSoftHsm, type SoftHsm } from '../fixtures/softhsm';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

function context(env: NodeJS.ProcessEnv = {}): { ctx: CliContext; out: Capture; err: Capture } {
  const out = new Capture();
  const err = new Capture();
  const stdin = new PassThrough();
  stdin.end();
  return { ctx: { stdin, stdout: out, stderr: err, env: { ...env }, ui: nonInteractiveUI, stateDir: hsm.dir }, out, err };
}

let hsm: SoftHsm;
const PIN = '654321';

beforeAll(() => {
  hsm = createSoftHsm();
  hsm.initToken('cli-token', PIN);
});
afterAll(() => hsm?.destroy());

const p = (n: string): string => path.join(hsm.dir, n);

describe('coffer hwkey', () => {
  it('enroll --generate writes a stub, prints recipient and fingerprint; list shows the key; files round-trip', async () => {
    const { ctx, out, err } = context({ COFFER_PIN: PIN });
    await hwkeyCommand(['enroll', '--module', hsm.modulePath, '--token', 'cli-token', '--generate', '--label', 'admin key', '-o', p('admin.stub')], ctx);
    const [recipient, fp] = out.text.trim().split('\n');
    expect(recipient).toMatch(/^coffer-piv1[02-9ac-hj-np-z]{50,}$/);
    expect(fp).toMatch(/^fingerprint: [0-9a-f]{4}( [0-9a-f]{4}){3}$/);
    expect(err.text).toMatch(/Generated P-256 "admin key" on cli-token/);
    expect(err.text).toMatch(/cannot be exported/);
    const stub = readFileSync(p('admin.stub'), 'utf8');
    expect(stub).toContain(`# recipient: ${recipient}`);
    expect(stub).toMatch(/^COFFER-PIV-STUB-1 recipient=coffer-piv1\S+ serial=[0-9a-f]+ token=cli-token key-label=admin%20key key-id=[0-9a-f]+ module=%2F/m);
    expect(stub).not.toContain(PIN);

    const l = context();
    await hwkeyListCommand(['--module', hsm.modulePath], l.ctx);
    expect(l.out.text).toContain('Token "cli-token"');
    expect(l.out.text).toContain('key "admin key"');
    expect(l.out.text).toContain(`recipient   ${recipient}`);
    const j = context();
    await hwkeyListCommand(['--module', hsm.modulePath, '--json'], j.ctx);
    const parsed = JSON.parse(j.out.text) as { tokens: { label: string; keys: { recipient: string | null; curve: string }[] }[] };
    expect(parsed.tokens[0]?.label).toBe('cli-token');
    expect(parsed.tokens[0]?.keys[0]?.recipient).toBe(recipient);

    // Encrypt to the recipient string, decrypt with the stub: the PIN comes from a file.
    writeFileSync(p('plain.txt'), 'hardware keys work\n');
    writeFileSync(p('pin.txt'), `${PIN}\n`);
    const e = context();
    await encryptCommand(['-r', recipient ?? '', '-o', p('plain.txt.coffer'), p('plain.txt')], e.ctx);
    const d = context({ COFFER_PKCS11_MODULE: hsm.modulePath });
    await decryptCommand(['-i', p('admin.stub'), '--pin-file', p('pin.txt'), '-o', p('plain.out'), p('plain.txt.coffer')], d.ctx);
    expect(readFileSync(p('plain.out'), 'utf8')).toBe('hardware keys work\n');
    expect(d.err.text).toMatch(/Touch your key cli-token/);

    // A wrong PIN from the environment fails with a typed error and writes nothing.
    const w = context({ COFFER_PIN: '000000' });
    await expect(decryptCommand(['-i', p('admin.stub'), '-o', p('wrong.out'), p('plain.txt.coffer')], w.ctx)).rejects.toMatchObject({ code: 'PIN_INCORRECT' });
    expect(existsSync(p('wrong.out'))).toBe(false);
    // SoftHSM2 now reports CKF_USER_PIN_COUNT_LOW without a count; the listing says so without inventing one.
    const after = context();
    await hwkeyListCommand(['--module', hsm.modulePath, '--json'], after.ctx);
    expect((JSON.parse(after.out.text) as { tokens: { pin: unknown }[] }).tokens[0]?.pin).toEqual({ state: 'count-low', triesLeft: null });
    const afterText = context();
    await hwkeyListCommand(['--module', hsm.modulePath], afterText.ctx);
    expect(afterText.out.text).toContain('PIN: a wrong PIN was entered recently; few tries may remain');
  });

  it('enroll --use-existing without -o prints the stub; the existing output file is refused before touching the token', async () => {
    const { ctx, out, err } = context();
    await hwkeyEnrollCommand(['--module', hsm.modulePath, '--use-existing', '--label', 'admin key'], ctx);
    expect(out.text).toMatch(/^# Coffer hardware-key identity stub/);
    expect(out.text).toMatch(/^COFFER-PIV-STUB-1 /m);
    expect(err.text).toMatch(/^Recipient: coffer-piv1/m);

    const again = context({ COFFER_PIN: PIN });
    await expect(hwkeyEnrollCommand(['--module', hsm.modulePath, '--generate', '--label', 'second', '-o', p('admin.stub')], again.ctx)).rejects.toMatchObject({ code: 'EXISTS' });
    const l = context();
    await hwkeyListCommand(['--module', hsm.modulePath, '--json'], l.ctx);
    expect(l.out.text).not.toContain('"second"');
  });

  it('rejects bad usage with UsageError and a bad module with PKCS11_MODULE', async () => {
    const { ctx } = context();
    await expect(hwkeyEnrollCommand(['--module', hsm.modulePath], ctx)).rejects.toBeInstanceOf(UsageError);
    await expect(hwkeyEnrollCommand(['--generate', '--use-existing'], ctx)).rejects.toBeInstanceOf(UsageError);
    await expect(hwkeyEnrollCommand(['--generate', '--serial', '1', '--token', 'x'], ctx)).rejects.toBeInstanceOf(UsageError);
    await expect(hwkeyCommand(['frobnicate'], ctx)).rejects.toBeInstanceOf(UsageError);
    await expect(hwkeyEnrollCommand(['--module', hsm.modulePath, '--generate', '--slot', '9a'], ctx)).rejects.toMatchObject({ code: 'USAGE' });
    await expect(hwkeyEnrollCommand(['--generate', '--touch-policy', 'sometimes'], ctx)).rejects.toBeInstanceOf(UsageError);
    await expect(hwkeyEnrollCommand(['--generate', '--pin-policy', 'never-ever'], ctx)).rejects.toBeInstanceOf(UsageError);
    // Policies are YubiKey (ykcs11) settings: refused on other tokens before anything is generated.
    const pinned = context({ COFFER_PIN: PIN });
    await expect(hwkeyEnrollCommand(['--module', hsm.modulePath, '--generate', '--label', 'touchy', '--touch-policy', 'always'], pinned.ctx)).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/only be set on a YubiKey/) as unknown as string });
    await expect(hwkeyEnrollCommand(['--module', hsm.modulePath, '--use-existing', '--label', 'admin key', '--pin-policy', 'once'], pinned.ctx)).rejects.toMatchObject({ code: 'USAGE' });
    const bad = hwkeyListCommand(['--module', p('missing.so')], ctx);
    await expect(bad).rejects.toBeInstanceOf(CofferError);
    await expect(bad).rejects.toMatchObject({ code: 'PKCS11_MODULE' });
  });

  it('with no PIN source and no terminal, enroll --generate says how to supply the PIN', async () => {
    const { ctx } = context();
    await expect(hwkeyEnrollCommand(['--module', hsm.modulePath, '--generate', '--label', 'nopin'], ctx)).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/--pin-file FILE or set COFFER_PIN/) as unknown as string,
    });
  });
});
