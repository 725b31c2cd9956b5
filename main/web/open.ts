/**
 * What the desktop does for the browser shell: open a file with its default application
 * ("Open": xdg-open, open, explorer), and open the app's page, in an app window of an installed
 * Chromium or Chrome (--app=URL) when there is one, else in the default browser.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

function onPath(cmd: string, env: NodeJS.ProcessEnv): string | null {
  for (const d of (env.PATH ?? '').split(path.delimiter)) {
    if (!d) continue;
    const p = path.join(d, cmd);
    if (existsSync(p)) return p;
  }
  return null;
}

/** Starts `cmd args` detached; resolves with '' once it started, or the reason it could not. */
function launch(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve) => {
    try {
      // No shell: the path is one argument and cannot be read as a command.
      const child = spawn(cmd, args, { detached: true, stdio: 'ignore', env, windowsHide: true });
      child.once('error', (e) => resolve(`${cmd}: ${e.message}`));
      child.once('spawn', () => {
        child.unref();
        resolve('');
      });
    } catch (e) {
      resolve(e instanceof Error ? e.message : String(e));
    }
  });
}

/** Opens a file with the system's default application; '' on success, else why not (like shell.openPath). */
export function openWithSystem(file: string, platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (platform === 'darwin') return launch('open', [file], env);
  if (platform === 'win32') return launch('explorer.exe', [file], env);
  return launch('xdg-open', [file], env);
}

const CHROMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'microsoft-edge'];
const MAC_CHROMES = ['/Applications/Google Chrome.app/Contents/MacOS/Google Chrome', '/Applications/Chromium.app/Contents/MacOS/Chromium'];

/** Opens the app's page: an app window of Chromium/Chrome if installed, else the default browser. Says which. */
export async function openAppWindow(url: string, platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const chrome = platform === 'darwin' ? MAC_CHROMES.find((p) => existsSync(p)) : CHROMES.map((c) => onPath(c, env)).find((p): p is string => p !== null);
  if (chrome && !(await launch(chrome, [`--app=${url}`], env))) return `opened an app window of ${path.basename(chrome)}`;
  const err = platform === 'darwin' ? await launch('open', [url], env) : platform === 'win32' ? await launch('explorer.exe', [url], env) : await launch('xdg-open', [url], env);
  return err ? `could not open a browser (${err}); open the address above yourself` : 'opened in your default browser';
}
