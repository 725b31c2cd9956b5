import { fileHandleCases } from './file-handle-cases';

// The WASM fallback (libsodium-wrappers): selected per process, and vitest runs each test file in its own fork.
process.env.COFFER_SODIUM = 'wasm';
fileHandleCases('libsodium-wrappers');
