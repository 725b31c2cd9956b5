// ESLint flat config. Besides the usual TypeScript rules it enforces DESIGN.md's layers:
// imports point down only, the core never sees electron or the DOM, the renderer never sees Node.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const nodeBuiltins = ['node:*', 'fs', 'path', 'crypto', 'child_process', 'os', 'net', 'tls', 'http', 'https', 'stream', 'worker_threads'];

const corePatterns = [
  { group: ['electron', 'react', 'react-dom', 'react/*'], message: 'main/core is plain Node: no electron, no DOM.' },
  { group: ['**/services/**', '**/ipc/**', '**/cli/**', '**/app', '**/preload/**', '**/renderer/**'], message: 'main/core may import only main/core.' },
];

const restrict = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

export default tseslint.config(
  { ignores: ['dist/**', 'release/**', 'node_modules/**', 'test-artifacts/**', '.tmp/**', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['main/core/**/*.ts'],
    rules: restrict(corePatterns),
  },
  // Inside the core, imports point down too: vault/ and jobs/ sit on keys/, which sits on format/ and crypto/.
  // (A later block replaces the rule for its files, so each repeats corePatterns.)
  {
    files: ['main/core/keys/**/*.ts'],
    rules: restrict([
      ...corePatterns,
      { group: ['**/vault', '**/vault/**', '**/jobs', '**/jobs/**', '**/webdav', '**/webdav/**'], message: 'Key providers depend only on format/ and crypto/: vault-specific code lives in main/core/vault/ (e.g. vault/transit-slot.ts, vault/transit-rewrap.ts).' },
    ]),
  },
  {
    files: ['main/core/format/**/*.ts'],
    rules: restrict([
      ...corePatterns,
      { group: ['**/vault', '**/vault/**', '**/jobs', '**/jobs/**'], message: 'The file format knows nothing of vaults or jobs.' },
      { group: ['**/keys/**'], allowTypeImports: true, message: 'The file format may import only the key-provider types (Recipient, Identity, Stanza).' },
    ]),
  },
  {
    files: ['main/core/crypto/**/*.ts'],
    rules: restrict([
      ...corePatterns,
      { group: ['**/vault', '**/vault/**', '**/jobs', '**/jobs/**', '**/keys/**', '**/format/**'], message: 'crypto/ is the bottom layer: libsodium and node:crypto only.' },
    ]),
  },
  {
    files: ['main/cli/**/*.ts'],
    rules: restrict([
      { group: ['electron', 'react', 'react-dom'], message: 'The CLI runs under plain Node.' },
      { group: ['**/ipc/**', '**/app', '**/preload/**', '**/renderer/**'], message: 'The CLI feeds the core (and services); never IPC, preload or renderer.' },
    ]),
  },
  {
    files: ['main/services/**/*.ts'],
    rules: restrict([
      { group: ['**/ipc/**', '**/cli/**', '**/app', '**/renderer/**', '**/preload/preload'], message: 'Services sit below IPC and above core.' },
      { group: ['react', 'react-dom'], message: 'No DOM in the main process.' },
    ]),
  },
  {
    files: ['main/ipc/**/*.ts'],
    rules: restrict([
      { group: ['**/cli/**', '**/app', '**/renderer/**', '**/preload/preload'], message: 'IPC handlers call services; nothing above them.' },
      { group: ['react', 'react-dom'], message: 'No DOM in the main process.' },
    ]),
  },
  {
    // The browser shell (`coffer ui`): a second shell beside main/app.ts, on the same services and router.
    files: ['main/web/**/*.ts'],
    rules: restrict([
      { group: ['electron'], message: 'The browser shell runs under plain Node: Electron is the other shell (main/app.ts).' },
      { group: ['**/app', '**/renderer/**', '**/preload/preload', '**/preload/api', '**/preload/browser'], message: 'The browser shell serves the renderer and the bridge bundle; it does not import them.' },
      { group: ['react', 'react-dom'], message: 'No DOM in the main process.' },
    ]),
  },
  {
    files: ['preload/**/*.ts'],
    rules: restrict([
      { group: ['**/main/**', '**/renderer/**'], message: 'The preload builds window.coffer from the contract only.' },
      { group: nodeBuiltins, message: 'The sandboxed preload has no Node modules.' },
    ]),
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'electron', message: 'The renderer reaches the world only through window.coffer.' }],
        patterns: [
          { group: nodeBuiltins, message: 'The renderer has no Node modules.' },
          { group: ['**/main/**'], message: 'The renderer never imports main-process code.' },
          { group: ['**/preload/**'], allowTypeImports: true, message: 'The renderer may import only types from the preload.' },
        ],
      }],
    },
  },
);
