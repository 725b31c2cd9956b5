/**
 * Access requests (core requestAccess, used by `coffer vault request-access` and the app's
 * members:requestAccess): the name is shown to members, so control characters are refused with a typed
 * error before anything is written. Issue 9, finding 12's source: a name with CR and ANSI escapes forged
 * an "admin (you)" line; the CLI escapes what it prints, and now such a name is not accepted at all.
 * Shown to catch the old code: run against vault.ts without the check, the first bad name resolved
 * ("promise resolved … instead of rejecting") and its request was written; the last case is the positive
 * control (the same name as plain text is written).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requestAccess } from '../../../main/core/vault';
import { member, newVault, sandbox, type Sandbox } from './helpers';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

describe('requestAccess names', () => {
  it('refuses control characters, line separators and direction overrides (USAGE), writing nothing', async () => {
    sb = sandbox();
    const { vault } = await newVault(sb, { passphrase: 'pw' });
    vault.lock();
    const who = await member();
    const bad = ['Mallory\r\u001b[2Kadmin (you)', 'a\nb', 'tab\there', 'bell\u0007', 'del\u007f', 'c1\u009b31m', 'line\u2028sep', 'evil\u202egnp.exe', 'iso\u2066late'];
    for (const name of bad) {
      await expect(requestAccess(sb.dir, who.recipient, name), JSON.stringify(name)).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/control characters/) });
    }
    const reqs = path.join(sb.dir, 'requests');
    expect(existsSync(reqs) ? readdirSync(reqs) : []).toEqual([]);
    // Positive control: the same name as plain text is accepted and written.
    const ok = await requestAccess(sb.dir, who.recipient, 'Mallory admin (you) Zoë 山田');
    expect(ok.name).toBe('Mallory admin (you) Zoë 山田');
    expect(readdirSync(path.join(sb.dir, 'requests'))).toEqual([`${ok.id}.req`]);
  });
});
