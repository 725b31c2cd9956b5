/**
 * The platform logic of "Mount as drive" (main/services/mount.ts) with a fake runner: which client
 * each platform tries, in what order, with which arguments, and that the password goes to stdin
 * (never into a command's arguments) wherever the client allows it.
 */
import { describe, expect, it } from 'vitest';
import { appleScriptString, clipboardCommands, driveLetterOf, mountDrive, showCommand, spawnRunner, unmountDrive, type Command, type RunResult } from '../../main/services/mount';

const T = { url: 'http://127.0.0.1:48123/', port: 48123, user: 'coffer', password: 'Pw-secret_123' };

type Answer = RunResult | 'missing' | Error;
function fakeRunner(answers: Record<string, Answer>): { run: (c: Command) => Promise<RunResult>; calls: Command[] } {
  const calls: Command[] = [];
  return {
    calls,
    run: async (c) => {
      calls.push(c);
      const a = answers[c.file] ?? 'missing';
      if (a === 'missing') throw Object.assign(new Error(`spawn ${c.file} ENOENT`), { code: 'ENOENT' });
      if (a instanceof Error) throw a;
      return a;
    },
  };
}
const ok = (stdout = ''): RunResult => ({ code: 0, stdout, stderr: '' });

describe('mountDrive on Linux', () => {
  it('mounts with gio, the password on stdin only, and unmounts with gio mount -u', async () => {
    const f = fakeRunner({ gio: ok() });
    const m = await mountDrive('linux', T, f.run);
    expect(m.how).toBe('gio');
    expect(m.location).toBe('dav://coffer@127.0.0.1:48123/');
    expect(f.calls).toEqual([{ file: 'gio', args: ['mount', 'dav://coffer@127.0.0.1:48123/'], stdin: 'Pw-secret_123\n' }]);
    expect(m.unmount).toEqual({ file: 'gio', args: ['mount', '-u', 'dav://coffer@127.0.0.1:48123/'] });
    expect(await unmountDrive(m, f.run)).toBeNull();
    expect(f.calls[1]).toEqual(m.unmount);
    expect(showCommand('linux', m)).toEqual({ file: 'gio', args: ['open', 'dav://coffer@127.0.0.1:48123/'] });
  });

  it('without gio, opens the dav:// URL in the file manager (which asks for the password itself) and says why', async () => {
    const f = fakeRunner({ 'xdg-open': ok() });
    const m = await mountDrive('linux', T, f.run);
    expect(m.how).toBe('file-manager');
    expect(f.calls.map((c) => c.file)).toEqual(['gio', 'xdg-open']);
    expect(f.calls[1]).toEqual({ file: 'xdg-open', args: ['dav://coffer@127.0.0.1:48123/'] });
    expect(m.notes).toEqual(['gio mount: gio is not installed']);
    expect(m.unmount).toBeNull();
  });

  it('a gio that fails (no GVfs daemon) falls back too, keeping its message', async () => {
    const f = fakeRunner({ gio: { code: 2, stdout: '', stderr: 'gio: dav://coffer@127.0.0.1:48123/: Operation not supported\n' }, 'xdg-open': ok() });
    const m = await mountDrive('linux', T, f.run);
    expect(m.how).toBe('file-manager');
    expect(m.notes[0]).toBe('gio mount: gio: dav://coffer@127.0.0.1:48123/: Operation not supported');
  });

  it('with neither, leaves it to the person (manual) with both reasons', async () => {
    const f = fakeRunner({});
    const m = await mountDrive('freebsd', T, f.run);
    expect(m).toMatchObject({ how: 'manual', location: null, unmount: null });
    expect(m.notes).toHaveLength(2);
    expect(showCommand('linux', m)).toBeNull();
  });
});

describe('mountDrive on macOS', () => {
  it('asks Finder through an AppleScript on stdin (the password is not in argv), unmounts the volume it reports', async () => {
    const f = fakeRunner({ osascript: ok('/Volumes/127.0.0.1/\n'), umount: ok() });
    const m = await mountDrive('darwin', T, f.run);
    expect(m).toMatchObject({ how: 'macos', location: '/Volumes/127.0.0.1', unmount: { file: 'umount', args: ['/Volumes/127.0.0.1'] } });
    const c = f.calls[0] as Command;
    expect(c.file).toBe('osascript');
    expect(c.args).toEqual(['-']);
    expect(c.stdin).toContain('mount volume "http://127.0.0.1:48123/" as user name "coffer" with password "Pw-secret_123"');
    expect(showCommand('darwin', m)).toEqual({ file: 'open', args: ['/Volumes/127.0.0.1'] });
  });

  it('escapes what goes into an AppleScript string (a quote cannot end the literal)', () => {
    expect(appleScriptString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(appleScriptString('x" & do shell script "id')).toBe('"x\\" & do shell script \\"id"');
  });
});

describe('mountDrive on Windows', () => {
  it('maps a drive letter with net use and removes it with net use /delete', async () => {
    const f = fakeRunner({ net: ok('Drive Z: is now connected to http://127.0.0.1:48123/.\r\n\r\nThe command completed successfully.\r\n') });
    const m = await mountDrive('win32', T, f.run);
    expect(f.calls[0]).toEqual({ file: 'net', args: ['use', '*', 'http://127.0.0.1:48123/', 'Pw-secret_123', '/user:coffer', '/persistent:no'] });
    expect(m).toMatchObject({ how: 'windows', location: 'Z:', unmount: { file: 'net', args: ['use', 'Z:', '/delete', '/y'] } });
  });

  it('reads the letter from other languages too, and reports a refused net use', async () => {
    expect(driveLetterOf('Laufwerk Y: ist jetzt mit http://127.0.0.1:1/ verbunden.')).toBe('Y:');
    const f = fakeRunner({ net: { code: 2, stdout: '', stderr: 'System error 67 has occurred.\r\n\r\nThe network name cannot be found.\r\n' } });
    const m = await mountDrive('win32', T, f.run);
    expect(m.how).toBe('manual');
    expect(m.notes).toEqual(['net use: The network name cannot be found.']);
  });
});

describe('clipboard tools and the real runner', () => {
  it('picks wl-copy under Wayland, xclip/xsel otherwise', () => {
    expect(clipboardCommands('linux', { WAYLAND_DISPLAY: 'wayland-0' }).map((c) => c.file)).toEqual(['wl-copy', 'xclip', 'xsel']);
    expect(clipboardCommands('linux', {}).map((c) => c.file)).toEqual(['xclip', 'xsel']);
    expect(clipboardCommands('darwin', {}).map((c) => c.file)).toEqual(['pbcopy']);
    expect(clipboardCommands('win32', {}).map((c) => c.file)).toEqual(['clip']);
  });

  it('spawnRunner runs without a shell, feeds stdin, reports exit codes and a missing program', async () => {
    const run = spawnRunner(10_000);
    const r = await run({ file: process.execPath, args: ['-e', 'process.stdin.pipe(process.stdout); process.on("exit", () => { process.exitCode = 3; })', '$(id)'], stdin: 'hello; rm -rf /' });
    expect(r).toMatchObject({ code: 3, stdout: 'hello; rm -rf /' });
    await expect(run({ file: 'coffer-no-such-program-xyz', args: [] })).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
