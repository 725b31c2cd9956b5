/**
 * Loading PKCS#11 modules through pkcs11js. The native addon is required lazily, so a build
 * where it cannot load still runs every other key provider. One module path is initialised once
 * per process (C_Initialize is process-wide) and reference-counted: the last release finalises it.
 */
import { createRequire } from 'node:module';
import { existsSync, statSync } from 'node:fs';
import type * as Pkcs11Js from 'pkcs11js';
import { CofferError } from '../../errors';

export type Pkcs11Lib = typeof Pkcs11Js;
export type Pkcs11 = Pkcs11Js.PKCS11;
export type Handle = Pkcs11Js.Handle;
export type Template = Pkcs11Js.Template;

const localRequire = createRequire(__filename);
let libCache: Pkcs11Lib | undefined;

/** The pkcs11js namespace (constants and the PKCS11 class). */
export function pkcs11js(): Pkcs11Lib {
  if (!libCache) {
    try {
      libCache = localRequire('pkcs11js') as Pkcs11Lib;
    } catch (e) {
      throw new CofferError('PKCS11_MODULE', `the PKCS#11 bridge (pkcs11js) could not be loaded on this system: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }
  return libCache;
}

/** Absolute path of the pkcs11js entry point, for worker threads that load it again. */
export function pkcs11jsPath(): string {
  return localRequire.resolve('pkcs11js');
}

/** A PKCS#11 error as pkcs11js throws it: name "Pkcs11Error", message "CKR_…", numeric code. */
export interface Pkcs11ErrorLike {
  readonly name: string;
  readonly message: string;
  readonly code: number;
}

export function isPkcs11Error(e: unknown): e is Pkcs11ErrorLike {
  return e instanceof Error && e.name === 'Pkcs11Error' && typeof (e as { code?: unknown }).code === 'number';
}

/** The CKR_ name of a PKCS#11 error, or null for anything else. */
export function ckrName(e: unknown): string | null {
  return isPkcs11Error(e) ? e.message : null;
}

interface Loaded {
  readonly pkcs11: Pkcs11;
  /** Users of the initialised library; 0 = loaded but finalised. */
  refs: number;
  /** False when another part of the process had already initialised the library. */
  ownsInit: boolean;
}

/**
 * Libraries stay loaded (never dlclose'd) for the life of the process: unloading a module that
 * registered thread-local destructors or atexit handlers (SoftHSM2 with OpenSSL does) crashes the
 * process later. A module that is no longer used is finalised, and initialised again on next use,
 * so it re-reads its tokens.
 */
const loaded = new Map<string, Loaded>();

const MODULE_HELP = 'install Yubico PIV Tool (libykcs11) or OpenSC (opensc-pkcs11), or give the module path with --module or in Settings';

function initialise(path: string, pkcs11: Pkcs11): boolean {
  const lib = pkcs11js();
  try {
    pkcs11.C_Initialize({ flags: lib.CKF_OS_LOCKING_OK });
    return true;
  } catch (e) {
    if (ckrName(e) === 'CKR_CRYPTOKI_ALREADY_INITIALIZED') return false;
    throw new CofferError('PKCS11_MODULE', `the PKCS#11 module ${path} failed to initialise (${firstLine(e)}); check its configuration (for SoftHSM2: SOFTHSM2_CONF), or ${MODULE_HELP}`, { cause: e });
  }
}

/**
 * Loads and initialises the PKCS#11 module at `path` (or reuses it), returning a handle
 * that must be released with `releaseModule(path)`.
 */
export function acquireModule(path: string): Pkcs11 {
  const hit = loaded.get(path);
  if (hit) {
    if (hit.refs === 0) hit.ownsInit = initialise(path, hit.pkcs11);
    hit.refs++;
    return hit.pkcs11;
  }
  if (!existsSync(path)) throw new CofferError('PKCS11_MODULE', `no PKCS#11 module at ${path}; ${MODULE_HELP}`);
  if (!statSync(path).isFile()) throw new CofferError('PKCS11_MODULE', `${path} is not a PKCS#11 module (not a file); ${MODULE_HELP}`);
  const lib = pkcs11js();
  const pkcs11 = new lib.PKCS11();
  try {
    pkcs11.load(path);
  } catch (e) {
    throw new CofferError('PKCS11_MODULE', `${path} could not be loaded as a PKCS#11 module (${firstLine(e)}); ${MODULE_HELP}`, { cause: e });
  }
  const entry: Loaded = { pkcs11, refs: 0, ownsInit: false };
  loaded.set(path, entry);
  entry.ownsInit = initialise(path, pkcs11);
  entry.refs = 1;
  return pkcs11;
}

export function releaseModule(path: string): void {
  const hit = loaded.get(path);
  if (!hit || hit.refs === 0) return;
  if (--hit.refs > 0) return;
  try {
    if (hit.ownsInit) hit.pkcs11.C_Finalize();
  } catch {
    /* a removed token or a finalised library: nothing left to release */
  }
}

export function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return (m.split('\n')[0] ?? m).trim();
}

/** Token info strings are blank-padded to fixed widths. */
export function trimPadded(s: string): string {
  return s.replace(/[\s\0]+$/, '');
}
