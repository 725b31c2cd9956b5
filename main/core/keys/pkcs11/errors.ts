/**
 * PKCS#11 return values mapped to typed errors with messages a person can act on.
 *
 * PKCS#11 never reports a number of PIN tries left: it has only the token flags
 * CKF_USER_PIN_COUNT_LOW ("at least one wrong PIN was entered"), CKF_USER_PIN_FINAL_TRY
 * ("one more wrong PIN locks it") and CKF_USER_PIN_LOCKED. A count is shown only where it is
 * knowable: Yubico's ykcs11 sets the flags from the exact retry counter (2, 1, 0 tries left);
 * otherwise the message says what the flags say.
 */
import { CofferError } from '../../errors';
import { ckrName, firstLine, isPkcs11Error } from './lib';

export const CKF_USER_PIN_COUNT_LOW = 0x00010000;
export const CKF_USER_PIN_FINAL_TRY = 0x00020000;
export const CKF_USER_PIN_LOCKED = 0x00040000;

export const UNBLOCK_HELP = 'reset it with the PUK: `ykman piv access unblock-pin` (for other tokens, the token vendor\'s PUK / SO-PIN tool)';

/** CKR values that mean the token (or its reader) went away under us. */
const REMOVED = new Set([
  'CKR_DEVICE_REMOVED',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_TOKEN_NOT_RECOGNIZED',
  'CKR_SESSION_CLOSED',
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SLOT_ID_INVALID',
  'CKR_CRYPTOKI_NOT_INITIALIZED',
]);

export function isRemovedError(e: unknown): boolean {
  const n = ckrName(e);
  return n !== null && REMOVED.has(n);
}

export function pinIncorrectMessage(tokenName: string, flags: number | null, triesLeft?: number | null): string {
  if (typeof triesLeft === 'number' && triesLeft >= 0) {
    if (triesLeft === 0) return pinLockedMessage(tokenName);
    if (triesLeft === 1) return `PIN incorrect for ${tokenName}; the next wrong PIN locks the key`;
    return `PIN incorrect for ${tokenName}, ${triesLeft} tries left`;
  }
  if (flags !== null && flags & CKF_USER_PIN_LOCKED) return pinLockedMessage(tokenName);
  if (flags !== null && flags & CKF_USER_PIN_FINAL_TRY) return `PIN incorrect for ${tokenName}; the next wrong PIN locks the key`;
  if (flags !== null && flags & CKF_USER_PIN_COUNT_LOW) {
    return `PIN incorrect for ${tokenName}; the token reports that few tries remain (it does not say how many) before the PIN locks`;
  }
  return `PIN incorrect for ${tokenName}`;
}

/** Tries left as ykcs11 reports them through the flags, or null when the flags do not say. */
export function triesFromYkcs11Flags(flags: number | null): number | null {
  if (flags === null) return null;
  if (flags & CKF_USER_PIN_LOCKED) return 0;
  if (flags & CKF_USER_PIN_FINAL_TRY) return 1;
  if (flags & CKF_USER_PIN_COUNT_LOW) return 2;
  return null;
}

export function pinLockedMessage(tokenName: string): string {
  return `the PIN of ${tokenName} is locked after too many wrong tries; ${UNBLOCK_HELP}`;
}

export interface MapContext {
  /** "YubiKey 5 (serial 123)", for messages. */
  readonly tokenName: string;
  /** What we were doing: "logging in", "deriving the key". */
  readonly doing: string;
  /** Token flags read after the failure, when they could be read. */
  readonly flags?: number | null;
  /**
   * Whether the flags map to exact counts. Yubico's ykcs11 sets CKF_USER_PIN_COUNT_LOW at exactly 2
   * tries left, FINAL_TRY at 1 and LOCKED at 0 (ykcs11.c, C_GetTokenInfo); other modules only say "low".
   */
  readonly exactCounts?: boolean;
  /** Set when a follow-up check found the token is no longer there. */
  readonly tokenGone?: boolean;
}

/** Maps anything a PKCS#11 call threw to a CofferError. CofferErrors pass through unchanged. */
export function mapPkcs11Error(e: unknown, ctx: MapContext): CofferError {
  if (e instanceof CofferError) return e;
  const name = ckrName(e);
  if (ctx.tokenGone || (name !== null && REMOVED.has(name))) {
    return new CofferError('TOKEN_REMOVED', `${ctx.tokenName} was removed while ${ctx.doing}; insert it and try again`, { cause: e });
  }
  switch (name) {
    case 'CKR_PIN_INCORRECT':
    case 'CKR_PIN_INVALID':
      return new CofferError('PIN_INCORRECT', pinIncorrectMessage(ctx.tokenName, ctx.flags ?? null, ctx.exactCounts ? triesFromYkcs11Flags(ctx.flags ?? null) : null), { cause: e });
    case 'CKR_PIN_LEN_RANGE':
      return new CofferError('PIN_INCORRECT', `PIN for ${ctx.tokenName} has the wrong length (a YubiKey PIV PIN is 6 to 8 characters)`, { cause: e });
    case 'CKR_PIN_LOCKED':
      return new CofferError('PIN_LOCKED', pinLockedMessage(ctx.tokenName), { cause: e });
    case 'CKR_PIN_EXPIRED':
      return new CofferError('PIN_LOCKED', `the PIN of ${ctx.tokenName} has expired and must be changed first (\`ykman piv access change-pin\`)`, { cause: e });
    case 'CKR_USER_PIN_NOT_INITIALIZED':
      return new CofferError('PKCS11', `${ctx.tokenName} has no user PIN set; initialise its PIN first`, { cause: e });
    case 'CKR_FUNCTION_CANCELED':
      return new CofferError('CANCELLED', `${ctx.doing} on ${ctx.tokenName} was cancelled`, { cause: e });
    case 'CKR_FUNCTION_FAILED':
    case 'CKR_DEVICE_ERROR':
      return new CofferError('PKCS11', `${ctx.tokenName} failed while ${ctx.doing} (${name}); if it blinks, touch it within about 15 seconds, then try again`, { cause: e });
    case 'CKR_MECHANISM_INVALID':
    case 'CKR_MECHANISM_PARAM_INVALID':
      return new CofferError('PKCS11', `${ctx.tokenName} does not support P-256 key agreement (${name}) while ${ctx.doing}`, { cause: e });
    case 'CKR_KEY_TYPE_INCONSISTENT':
    case 'CKR_KEY_FUNCTION_NOT_PERMITTED':
      return new CofferError('KEY_NOT_FOUND', `the key on ${ctx.tokenName} cannot be used for P-256 key agreement (${name})`, { cause: e });
    default:
      break;
  }
  const detail = isPkcs11Error(e) ? e.message : firstLine(e);
  return new CofferError('PKCS11', `${ctx.tokenName}: ${ctx.doing} failed (${detail})`, { cause: e });
}
