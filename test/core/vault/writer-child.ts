/**
 * Child process for the concurrent-writers test: opens the vault and makes `count` separate changes
 * (one add per file, plus shared-folder creation and a shared file replaced by both writers).
 * argv: DIR STATE_DIR TAG COUNT SRC_DIR
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { openVault } from '../../../main/core/vault';

async function main(): Promise<void> {
  const [dir, state, tag, countText, src] = process.argv.slice(2) as [string, string, string, string, string];
  const count = Number(countText);
  const v = await openVault(dir, { credentials: { passphrase: 'pw' }, stateDir: state });
  for (let i = 0; i < count; i++) {
    const f = path.join(src, `${tag}-${i}.txt`);
    writeFileSync(f, `${tag} ${i}`);
    await v.add([f], 'shared');
    if (i % 5 === 0) {
      const g = path.join(src, 'common.txt');
      writeFileSync(g, `${tag} ${i}`);
      await v.add([g], 'shared');
    }
    if (i % 7 === 0) await v.mkdir(`${tag}-dir-${i}`);
  }
  v.lock();
}

main().then(() => process.exit(0), (e: unknown) => {
  process.stderr.write(`child failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
