// Vitest global setup: bundles the CLI once so CLI tests run what users run (dist/main/cli.js).
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export default function setup(): void {
  execFileSync(process.execPath, [path.join(__dirname, '../../build/build.mjs'), '--only=cli'], { stdio: 'inherit' });
}
