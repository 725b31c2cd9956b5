/**
 * Issue 9, finding 10 (attacker UI, with W's help): a shared library planted in a shared vault
 * folder, and a compromised page that asks main to load it as a PKCS#11 module, through
 * `hwkeys:detect`, `hwkeys:enroll`, or by storing it as the `pkcs11Module` setting. The planted
 * library's constructor writes a marker file the moment it is dlopen()ed in main.
 *
 * Proof that this test catches the old code: with main/services/hwkeys.ts, settings.ts and
 * index.ts of commit e93c914 (checked with `git show e93c914:FILE > FILE`), the marker file
 * appears after the first `hwkeys:detect` and the test fails on it. The positive control shows the marker mechanism works: the same library, picked by the
 * person in the module dialog, is loaded (and writes the marker).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hostilePage, type HostilePage } from './helpers-ui';

function plantLibrary(dir: string, marker: string): string {
  mkdirSync(dir, { recursive: true });
  const src = path.join(dir, 'evil.c');
  writeFileSync(src, `#include <stdio.h>\n__attribute__((constructor)) static void pwn(void) { FILE *f = fopen(${JSON.stringify(marker)}, "w"); if (f) { fputs("code ran in main", f); fclose(f); } }\n`);
  const lib = path.join(dir, 'libykcs11.so');
  execFileSync('cc', ['-shared', '-fPIC', '-o', lib, src]);
  return lib;
}

describe('hostile UI: PKCS#11 modules load only from the module dialog or known locations (finding 10)', () => {
  let app: HostilePage;
  afterEach(async () => app?.close());

  it('refuses a library path from the page in detect, enroll and settings, and never dlopens it', async () => {
    app = await hostilePage();
    const marker = path.join(app.dir, 'PWNED');
    const lib = plantLibrary(path.join(app.dir, 'Dropbox', 'Team vault', 'blobs'), marker);

    const detect = await app.call('hwkeys:detect', { modulePath: lib });
    expect(existsSync(marker), 'the planted library ran its code in main').toBe(false);
    expect(detect.ok).toBe(false);
    expect(!detect.ok && detect.error.message).toMatch(/Choose…/);
    const enroll = await app.call('hwkeys:enroll', { modulePath: lib, serial: '1', slot: '9d', mode: 'generate', label: 'x', pin: '123456' });
    expect(enroll.ok).toBe(false);
    const set = await app.call('settings:set', { pkcs11Module: lib });
    expect(set.ok).toBe(false);
    expect(app.services.settings.get().pkcs11Module).toBe('');
    // A value that got into the settings file some other way is checked again at use.
    (app.services.settings as unknown as { value: { pkcs11Module: string } }).value.pkcs11Module = lib;
    const viaSettings = await app.call('hwkeys:detect', { modulePath: '' });
    expect(viaSettings.ok).toBe(false);
    expect(existsSync(marker)).toBe(false);

    // Positive control: the person picks the very same file in the module dialog: now it loads
    // (it is not a real PKCS#11 module, so detect fails after loading, but its code has run).
    (app.services.settings as unknown as { value: { pkcs11Module: string } }).value.pkcs11Module = '';
    app.picks.modules.push(lib);
    const picked = await app.call('dialog:pickModule', { title: 'Choose the PKCS#11 module' });
    expect(picked).toEqual({ ok: true, value: { path: lib } });
    await app.call('hwkeys:detect', { modulePath: lib });
    expect(existsSync(marker)).toBe(true);
    // The pick is remembered in a file the window cannot write, so Settings may now name it.
    expect((await app.call('settings:set', { pkcs11Module: lib })).ok).toBe(true);
  });
});
