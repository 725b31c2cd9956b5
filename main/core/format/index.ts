export * from './constants';
export * from './header';
export * from './stream';
export * from './file';
export * from './sizes';
export { encodeB64, decodeB64 } from './base64';
