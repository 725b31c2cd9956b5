/**
 * Child process for the collection-with-concurrent-writers test: opens the vault with a clock ten days
 * ahead (so every released blob is past the sync grace) and collects `rounds` times while writers run.
 * argv: DIR STATE_DIR ROUNDS; prints the total number of blobs it deleted.
 */
import { openVault } from '../../../main/core/vault';

async function main(): Promise<void> {
  const [dir, state, roundsText] = process.argv.slice(2) as [string, string, string];
  const ahead = 10 * 86_400_000;
  const v = await openVault(dir, { credentials: { passphrase: 'pw' }, stateDir: state, clock: () => Date.now() + ahead });
  let deleted = 0;
  for (let i = 0; i < Number(roundsText); i++) {
    await v.refresh();
    deleted += (await v.collect()).blobs;
    await new Promise((r) => setTimeout(r, 20));
  }
  v.lock();
  process.stdout.write(`${deleted}\n`);
}

main().then(() => process.exit(0), (e: unknown) => {
  process.stderr.write(`collector failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
