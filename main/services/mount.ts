/**
 * "Mount as drive": which of the platform's own WebDAV clients mounts the vault's drive, and how.
 *
 * Every step is a command built from data (a program, its arguments, what goes to its stdin),
 * run by an injected `Runner` without a shell. The password never goes on a command line where
 * the platform offers another way (Linux: stdin of `gio mount`; macOS: an AppleScript read by
 * `osascript` from stdin). Windows' `net use` takes it only as an argument (see docs/SECURITY.md).
 *
 * Tests pass a fake runner and any platform; the app passes `spawnRunner`.
 */
import { spawn } from 'node:child_process';

/** One program run: no shell, arguments as a list. */
export interface Command {
  readonly file: string;
  readonly args: readonly string[];
  /** Written to the program's stdin, then stdin is closed (secrets go here, never into args). */
  readonly stdin?: string;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs one command. Resolves with its exit code and output; rejects with an error whose `code` is
 * ENOENT when the program is not installed.
 */
export type Runner = (cmd: Command) => Promise<RunResult>;

/** The drive to mount (the server is already listening). */
export interface DriveTarget {
  /** http://127.0.0.1:PORT/ */
  readonly url: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

/** How the drive was mounted, and how to undo it. */
export interface Mounted {
  /**
   * gio: mounted by GVfs (Linux); file-manager: the file manager was opened on the drive's URL and
   * asks for the password itself; macos: mounted by Finder's WebDAV client; windows: mapped with
   * the WebClient (`net use`); manual: no client could be started, the person connects by hand.
   */
  readonly how: 'gio' | 'file-manager' | 'macos' | 'windows' | 'manual';
  /** Where the files appear: a gvfs URI, /Volumes/…, a drive letter; null when unknown. */
  readonly location: string | null;
  /** Undoes the mount (null: nothing to undo; the client's connection ends with the server). */
  readonly unmount: Command | null;
  /** What the tries that failed said (shown to the person under "details"). */
  readonly notes: readonly string[];
}

const isMissing = (e: unknown): boolean => (e as { code?: unknown } | null)?.code === 'ENOENT';

/** The URL file managers understand for a WebDAV server (dav:// is plain HTTP, davs:// is TLS). */
export function davUrl(t: DriveTarget, withUser = true): string {
  return `dav://${withUser ? `${encodeURIComponent(t.user)}@` : ''}127.0.0.1:${t.port}/`;
}

/** An AppleScript string literal ("…" with \ and " escaped). */
export function appleScriptString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** `net use` prints "Drive Z: is now connected to …" (or the localised equivalent, which also names the letter). */
export function driveLetterOf(out: string): string | null {
  return /\b([D-Z]:)(?=\s|$|\.)/.exec(out)?.[1] ?? null;
}

function lastLine(r: RunResult | Error): string {
  const text = r instanceof Error ? r.message : `${r.stderr}\n${r.stdout}`;
  return text.trim().split('\n').filter((l) => l.trim() !== '').pop()?.trim() ?? (r instanceof Error ? 'failed' : `exit code ${r.code}`);
}

/** Runs the platform's mount tries in order; the first that works wins. Never throws for a failed try. */
export async function mountDrive(platform: NodeJS.Platform, t: DriveTarget, run: Runner): Promise<Mounted> {
  const notes: string[] = [];
  const attempt = async (label: string, cmd: Command): Promise<RunResult | null> => {
    try {
      const r = await run(cmd);
      if (r.code === 0) return r;
      notes.push(`${label}: ${lastLine(r)}`);
    } catch (e) {
      notes.push(`${label}: ${isMissing(e) ? `${cmd.file} is not installed` : lastLine(e as Error)}`);
    }
    return null;
  };

  if (platform === 'darwin') {
    // Finder's own WebDAV client, asked through AppleScript read from stdin (the password stays off argv).
    const script = `set v to mount volume ${appleScriptString(t.url)} as user name ${appleScriptString(t.user)} with password ${appleScriptString(t.password)}\nreturn POSIX path of v\n`;
    const r = await attempt('Finder (osascript mount volume)', { file: 'osascript', args: ['-'], stdin: script });
    if (r) {
      const where = r.stdout.trim().replace(/\/$/, '') || null;
      return { how: 'macos', location: where, unmount: where ? { file: 'umount', args: [where] } : null, notes };
    }
    return { how: 'manual', location: null, unmount: null, notes };
  }

  if (platform === 'win32') {
    // The WebClient service ("Map network drive"). `net use` has no other way to take the password.
    const r = await attempt('net use', { file: 'net', args: ['use', '*', t.url, t.password, `/user:${t.user}`, '/persistent:no'] });
    const letter = r ? driveLetterOf(r.stdout) : null;
    if (r) return { how: 'windows', location: letter, unmount: letter ? { file: 'net', args: ['use', letter, '/delete', '/y'] } : null, notes };
    return { how: 'manual', location: null, unmount: null, notes };
  }

  // Linux and the other Unixes: GVfs first (what Files/Nautilus, Nemo and Thunar use). It asks
  // "Password:" and reads the answer from stdin; the user is in the URL.
  const uri = davUrl(t);
  if (await attempt('gio mount', { file: 'gio', args: ['mount', uri], stdin: `${t.password}\n` })) {
    return { how: 'gio', location: uri, unmount: { file: 'gio', args: ['mount', '-u', uri] }, notes };
  }
  // No GVfs: hand the URL to the file manager, which asks for the password (the panel offers "Copy password").
  if (await attempt('file manager (xdg-open)', { file: 'xdg-open', args: [uri] })) {
    return { how: 'file-manager', location: uri, unmount: null, notes };
  }
  return { how: 'manual', location: null, unmount: null, notes };
}

/** After a gio mount: shows the mounted drive in the file manager (best effort). */
export function showCommand(platform: NodeJS.Platform, m: Mounted): Command | null {
  if (!m.location) return null;
  if (m.how === 'gio') return { file: 'gio', args: ['open', m.location] };
  if (m.how === 'macos') return { file: 'open', args: [m.location] };
  if (m.how === 'windows' && platform === 'win32') return { file: 'explorer.exe', args: [`${m.location}\\`] };
  if (m.how === 'file-manager') return { file: 'xdg-open', args: [m.location] };
  return null;
}

/** Undoes a mount; resolves with a note when the client refused (the server stops anyway). */
export async function unmountDrive(m: Mounted, run: Runner): Promise<string | null> {
  if (!m.unmount) return null;
  try {
    const r = await run(m.unmount);
    return r.code === 0 ? null : `${m.unmount.file}: ${lastLine(r)}`;
  } catch (e) {
    return `${m.unmount.file}: ${lastLine(e as Error)}`;
  }
}

/**
 * Commands that put text on the clipboard, for a main process without Electron's clipboard (the
 * browser shell `coffer ui`): tried in order, the text goes to stdin.
 */
export function clipboardCommands(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): Command[] {
  if (platform === 'darwin') return [{ file: 'pbcopy', args: [] }];
  if (platform === 'win32') return [{ file: 'clip', args: [] }];
  const x11: Command[] = [{ file: 'xclip', args: ['-selection', 'clipboard'] }, { file: 'xsel', args: ['--clipboard', '--input'] }];
  return env.WAYLAND_DISPLAY ? [{ file: 'wl-copy', args: [] }, ...x11] : x11;
}

/** The real runner: child_process.spawn without a shell, a time limit, output capped. */
export function spawnRunner(timeoutMs = 30_000): Runner {
  return (cmd) => new Promise<RunResult>((resolve, reject) => {
    const child = spawn(cmd.file, [...cmd.args], { shell: false, windowsHide: true, stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    const cap = (acc: string, c: Buffer): string => (acc.length > 64 * 1024 ? acc : acc + c.toString('utf8'));
    child.stdout.on('data', (c: Buffer) => void (stdout = cap(stdout, c)));
    child.stderr.on('data', (c: Buffer) => void (stderr = cap(stderr, c)));
    child.once('error', reject);
    const done = (code: number | null, signal: NodeJS.Signals | null): void => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    child.once('close', done);
    // xdg-open, xclip and the like leave a child holding the pipes open: after the exit, wait a
    // little for the rest of the output, then answer with what came.
    child.once('exit', (code, signal) => setTimeout(() => done(code, signal), 500).unref());
    child.stdin.on('error', () => undefined); // a program that does not read stdin
    child.stdin.end(cmd.stdin ?? '');
  });
}
