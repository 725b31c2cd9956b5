/**
 * Finding 12 (low, W/M): access-request names and entry names reached the terminal raw; CR and ANSI
 * escapes forged a fake "admin (you)" line in `vault members`.
 *
 * The attack is performed for real: W (no key) drops an access request whose name carries CR, an ANSI
 * "erase line" and a forged member line; M (a member) grants a slot whose label holds a newline and a
 * forged line. `coffer vault members` must print no control byte at all, and no line may start with
 * the forged text. Positive control: the same fields, printed as the old code did (raw), contain the
 * control bytes and put the forged "(you)" line on the terminal.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { termSafe } from '../../main/cli/output';
import { runCoffer } from '../helpers/cli';
import { member, newVault, sandbox, type Sandbox } from './helpers';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

const FORGED = 'aaaaaaaaaaaa  passphrase    admin               2026-01-01T00:00:00.000Z  admin  (you)';
// eslint-disable-next-line no-control-regex -- looking for control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/; // anything but \t and \n

describe('finding 12: control characters from the vault reach the terminal escaped', () => {
  it('members prints the forged request name and label escaped, on their own lines', async () => {
    sb = sandbox();
    const { vault } = await newVault(sb, { passphrase: 'pw' });
    const m = await member();
    await vault.grant(m.recipient, { label: `bob\n  ${FORGED}` });
    vault.lock();
    const w = await member();
    // W needs no key: an access request is a plaintext file in requests/.
    mkdirSync(path.join(sb.dir, 'requests'), { recursive: true });
    writeFileSync(path.join(sb.dir, 'requests', '0123456789ab.req'), `${JSON.stringify({ v: 1, id: '0123456789ab', name: `eve\r\u001b[2K  ${FORGED}`, recipient: w.recipient, fingerprint: '', created: '2026-01-01T00:00:00.000Z' })}\n`);
    const r = await runCoffer(['vault', 'members', sb.dir, '-p'], { env: { COFFER_PASSPHRASE: 'pw', COFFER_STATE_DIR: sb.state } });
    expect(r.code, r.stderr).toBe(0);
    const text = r.stdout.toString();
    expect(text).not.toMatch(CONTROL);
    for (const line of text.split('\n')) expect(line.trimStart().startsWith('aaaaaaaaaaaa')).toBe(false);
    expect(text).toContain('eve\\x0d\\x1b[2K  aaaaaaaaaaaa');
    expect(text).toContain('bob\\x0a  aaaaaaaaaaaa');
    // Only the slot that really opened the vault is marked; the forged marks stay inside escaped text.
    expect(text.split('\n').filter((l) => l.endsWith('(you)') && !l.includes('\\x'))).toHaveLength(1);
  });

  it('positive control: printed raw, as before, the same fields forge a line', async () => {
    const name = `eve\r\u001b[2K  ${FORGED}`;
    const old = `  0123456789ab    2026-01-01T00:00:00.000Z  ${name}  coffer1…`; // the old members line
    expect(old).toMatch(CONTROL);
    // On a terminal, CR returns to column 0 and ESC[2K erases the line: what remains visible is the forgery.
    const visible = old.slice(old.lastIndexOf('\u001b[2K') + 4);
    expect(visible.trimStart().startsWith('aaaaaaaaaaaa  passphrase')).toBe(true);
    expect(termSafe(old)).not.toMatch(CONTROL);
  });

  it('termSafe escapes C0, DEL, C1 and bidi/line-separator marks, and nothing else', () => {
    expect(termSafe('a\u001b]0;title\u0007b')).toBe('a\\x1b]0;title\\x07b');
    expect(termSafe('x\u009by\u007fz')).toBe('x\\x9by\\x7fz');
    expect(termSafe('left\u202eright\u2028')).toBe('left\\u202eright\\u2028');
    expect(termSafe('Café naïve 日本 🙂 tab-free')).toBe('Café naïve 日本 🙂 tab-free');
  });
});
