/**
 * TransitPort over main/core/keys/vault-transit.ts.
 */
import { CofferError } from '../core/errors';
import type { ProviderNotice } from '../core/keys/types';
import type { TransitPort } from './transit';

export function coreTransit(_notify: (n: ProviderNotice) => void, _env: NodeJS.ProcessEnv): TransitPort {
  const missing = (): never => {
    throw new CofferError('TRANSIT_CONFIG', 'this build has no Vault Transit provider yet');
  };
  return {
    recipient: async () => missing(),
    identity: async () => missing(),
    test: async () => missing(),
  };
}
