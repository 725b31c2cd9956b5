/**
 * A ProviderUI for the app: secrets (passphrase, PIN) come from what the person typed in the
 * unlock form (sent once over IPC, renderer → main), and notices ("touch your key") are sent to
 * the window as events. A provider that asks for something the form did not give fails with a
 * clear message instead of hanging.
 */
import { CofferError } from '../core/errors';
import type { ProviderNotice, ProviderUI, SecretRequest } from '../core/keys/types';

export function formUI(given: { passphrase?: string; pin?: string }, notify: (n: ProviderNotice) => void): ProviderUI {
  return {
    requestSecret(req: SecretRequest): Promise<string> {
      const value = req.kind === 'pin' ? given.pin : given.passphrase;
      if (value === undefined) return Promise.reject(new CofferError('USAGE', `${req.prompt}: enter it in the form and try again`));
      return Promise.resolve(value);
    },
    notify,
  };
}
