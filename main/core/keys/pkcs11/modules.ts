/**
 * Where PKCS#11 modules usually live. The module path comes from (in order): an explicit path
 * (--module or Settings), $COFFER_PKCS11_MODULE, then the first of the usual install locations
 * of Yubico's libykcs11 and OpenSC's opensc-pkcs11 that exists on this machine.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CofferError } from '../../errors';

export interface ModuleCandidate {
  readonly path: string;
  readonly vendor: 'yubico' | 'opensc';
}

/** The usual install locations for `platform`, in order of preference (ykcs11 first: it handles YubiKey PIV fully). */
export function candidateModulePaths(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): ModuleCandidate[] {
  const y = (p: string): ModuleCandidate => ({ path: p, vendor: 'yubico' });
  const o = (p: string): ModuleCandidate => ({ path: p, vendor: 'opensc' });
  if (platform === 'win32') {
    const pf = env.ProgramFiles ?? 'C:\\Program Files';
    const pf86 = env['ProgramFiles(x86)'] ?? 'C:\\Program Files (x86)';
    const sys = path.win32.join(env.SystemRoot ?? 'C:\\Windows', 'System32');
    return [
      y(path.win32.join(pf, 'Yubico', 'Yubico PIV Tool', 'bin', 'libykcs11.dll')),
      y(path.win32.join(pf86, 'Yubico', 'Yubico PIV Tool', 'bin', 'libykcs11.dll')),
      o(path.win32.join(sys, 'opensc-pkcs11.dll')),
      o(path.win32.join(pf, 'OpenSC Project', 'OpenSC', 'pkcs11', 'opensc-pkcs11.dll')),
    ];
  }
  if (platform === 'darwin') {
    return [
      y('/usr/local/lib/libykcs11.dylib'),
      y('/opt/homebrew/lib/libykcs11.dylib'),
      o('/Library/OpenSC/lib/opensc-pkcs11.so'),
      o('/usr/local/lib/opensc-pkcs11.so'),
      o('/opt/homebrew/lib/opensc-pkcs11.so'),
    ];
  }
  // Linux and other Unixes: Debian/Ubuntu multiarch, Fedora/RHEL lib64, Arch/Alpine /usr/lib, source installs.
  const multiarch = ['x86_64-linux-gnu', 'aarch64-linux-gnu', 'arm-linux-gnueabihf', 'i386-linux-gnu'];
  const ykcs11: string[] = [];
  const opensc: string[] = [];
  for (const m of multiarch) {
    ykcs11.push(`/usr/lib/${m}/libykcs11.so.2`, `/usr/lib/${m}/libykcs11.so`);
    opensc.push(`/usr/lib/${m}/opensc-pkcs11.so`, `/usr/lib/${m}/pkcs11/opensc-pkcs11.so`);
  }
  ykcs11.push('/usr/lib64/libykcs11.so.2', '/usr/lib64/libykcs11.so', '/usr/lib/libykcs11.so.2', '/usr/lib/libykcs11.so', '/usr/local/lib/libykcs11.so');
  opensc.push('/usr/lib64/opensc-pkcs11.so', '/usr/lib64/pkcs11/opensc-pkcs11.so', '/usr/lib/opensc-pkcs11.so', '/usr/lib/pkcs11/opensc-pkcs11.so', '/usr/local/lib/opensc-pkcs11.so');
  return [...ykcs11.map(y), ...opensc.map(o)];
}

export interface ResolveModuleOptions {
  /** From --module or Settings; wins over everything else. */
  readonly modulePath?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly platform?: NodeJS.Platform;
  /** Replaceable for tests. */
  readonly exists?: (p: string) => boolean;
}

/** The module to use, or a PKCS11_MODULE error that says where we looked. */
export function resolveModulePath(opts: ResolveModuleOptions = {}): string {
  if (opts.modulePath) return opts.modulePath;
  const env = opts.env ?? process.env;
  const fromEnv = env.COFFER_PKCS11_MODULE;
  if (fromEnv) return fromEnv;
  const exists = opts.exists ?? existsSync;
  const candidates = candidateModulePaths(opts.platform ?? process.platform, env);
  const found = candidates.find((c) => exists(c.path));
  if (found) return found.path;
  throw new CofferError(
    'PKCS11_MODULE',
    `no PKCS#11 module found (looked for Yubico's libykcs11 and OpenSC's opensc-pkcs11 in ${candidates.length} usual places); install Yubico PIV Tool or OpenSC, or pass --module PATH`,
  );
}
