#!/usr/bin/env node
// `npm run transit-dev -- [--port N] [--tls] [--root-token T] [--dir D]`
// Starts Coffer's Transit-compatible DEVELOPMENT server (test/servers/transit/dev.ts) under tsx.
// It is a test double for HashiCorp Vault's Transit engine, for trying Coffer without a Vault.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const tsxCli = path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'cli.mjs');
const child = spawn(process.execPath, [tsxCli, path.join(root, 'test/servers/transit/dev.ts'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  cwd: root,
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(signal ? 1 : code ?? 1));
