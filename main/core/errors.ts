/**
 * Typed errors. Every failure the user can see carries a stable `code` (for IPC, the CLI's
 * exit status and tests) and a message a person can act on.
 */
export type ErrorCode =
  // input and usage
  | 'USAGE'
  | 'IO'
  | 'EXISTS'
  | 'NOT_FOUND'
  | 'CANCELLED'
  // file format
  | 'BAD_MAGIC'
  | 'UNSUPPORTED_VERSION'
  | 'HEADER_INVALID'
  | 'HEADER_TOO_LARGE'
  | 'HEADER_MAC'
  | 'PAYLOAD_TAMPERED'
  | 'TRUNCATED'
  | 'TRAILING_DATA'
  | 'KDF_LIMITS'
  // keys
  | 'NO_IDENTITY'
  | 'WRONG_PASSPHRASE'
  | 'BAD_RECIPIENT'
  | 'BAD_IDENTITY_FILE'
  | 'INSECURE_PERMISSIONS'
  | 'BAD_RECOVERY_KEY'
  // hardware keys
  | 'PKCS11_MODULE'
  | 'TOKEN_NOT_FOUND'
  | 'TOKEN_REMOVED'
  | 'KEY_NOT_FOUND'
  | 'PIN_INCORRECT'
  | 'PIN_LOCKED'
  | 'PKCS11'
  // Vault Transit
  | 'TRANSIT_UNREACHABLE'
  | 'TRANSIT_TLS'
  | 'TRANSIT_DENIED'
  | 'TRANSIT_KEY_NOT_FOUND'
  | 'TRANSIT_VERSION_TOO_OLD'
  | 'TRANSIT_SEALED'
  | 'TRANSIT_AUTH'
  | 'TRANSIT_ADDRESS_NOT_ALLOWED'
  | 'TRANSIT_CONFIG'
  | 'TRANSIT'
  // vaults
  | 'VAULT_TAMPERED'
  | 'VAULT_ROLLBACK'
  | 'VAULT_LOCKED'
  | 'VAULT_INVALID'
  | 'VAULT_CONFLICT'
  | 'VAULT_BUSY'
  | 'INTERNAL';

export class CofferError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CofferError';
    this.code = code;
  }
}

export function isCofferError(e: unknown): e is CofferError {
  return e instanceof CofferError;
}

/** Rethrows an AbortError (from a cancelled stream pipeline) as a typed CANCELLED error. */
export function asCancelled(e: unknown): unknown {
  if (e instanceof Error && e.name === 'AbortError') return new CofferError('CANCELLED', 'cancelled', { cause: e });
  return e;
}

/** Maps anything thrown to `{code, message}` for IPC and the CLI, never leaking stack traces or key bytes. */
export function toErrorInfo(e: unknown): { code: ErrorCode; message: string } {
  if (isCofferError(e)) return { code: e.code, message: e.message };
  const errno = e as NodeJS.ErrnoException | undefined;
  if (errno && typeof errno.code === 'string' && typeof errno.message === 'string') {
    const where = errno.path ? `${errno.path}: ` : '';
    switch (errno.code) {
      case 'ENOENT': return { code: 'NOT_FOUND', message: `${where}no such file or directory` };
      case 'EEXIST': return { code: 'EXISTS', message: `${where}already exists` };
      case 'EACCES': case 'EPERM': return { code: 'IO', message: `${where}permission denied` };
      case 'ENOSPC': return { code: 'IO', message: `${where}no space left on device` };
      case 'EISDIR': return { code: 'IO', message: `${where}is a directory` };
      case 'ENOTDIR': return { code: 'IO', message: `${where}not a directory` };
      default: return { code: 'IO', message: `${where}${errno.message}` };
    }
  }
  if (e instanceof Error && e.name === 'AbortError') return { code: 'CANCELLED', message: 'cancelled' };
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}
