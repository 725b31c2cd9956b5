/** Constants of coffer format v1. docs/FORMAT.md is the normative description. */
export const MAGIC_LINE = 'coffer/v1';
export const MAGIC_PREFIX = 'coffer/';
/** Largest header accepted, magic line through MAC line inclusive. */
export const MAX_HEADER_BYTES = 64 * 1024;
/** Largest number of stanzas accepted in one header. */
export const MAX_STANZAS = 512;
/** Largest number of arguments of one stanza (type excluded). */
export const MAX_STANZA_ARGS = 16;
/** Body lines are exactly this many base64 characters, except the last, which is shorter (maybe empty). */
export const BODY_LINE_CHARS = 64;
export const FILE_KEY_BYTES = 32;
export const PAYLOAD_NONCE_BYTES = 16;
export const CHUNK_PLAINTEXT = 64 * 1024;
export const HKDF_INFO_HEADER = 'header';
export const HKDF_INFO_PAYLOAD = 'payload';
