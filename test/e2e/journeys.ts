/**
 * Steps several journeys share, done the way a person does them in the window.
 */
import type { AppUnderTest } from './harness';

/**
 * The first-vault wizard with a passphrase only: "Create your first vault", the folder picked in
 * `pickIn` and typed as `dir`, the name, the passphrase twice, no recovery key, Create. Resolves when
 * the new, empty vault is shown.
 */
export async function createFirstVault(app: AppUnderTest, o: { pickIn: string; dir: string; name: string; passphrase: string }): Promise<void> {
  const { page } = app;
  await page.getByRole('button', { name: 'Create your first vault' }).click();
  await app.pick('folder', o.pickIn, () => page.getByRole('button', { name: 'Choose…' }).click());
  await page.getByLabel('Folder', { exact: true }).fill(o.dir);
  await page.getByLabel('Vault name').fill(o.name);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Passphrase', { exact: true }).fill(o.passphrase);
  await page.getByLabel('Passphrase again').fill(o.passphrase);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('button', { name: 'Create vault' }).click();
  await page.getByRole('heading', { name: 'This vault is empty' }).waitFor();
}
