/**
 * TransitPort over main/core/keys/vault-transit.ts. The app's saved connection becomes the
 * process-wide Transit client source (setTransitClientSource), which vault-transit key slots use to
 * wrap and unwrap; tokens and secret ids go from SecureStorage straight into that client.
 */
import { CofferError } from '../core/errors';
import { TransitClient, TransitIdentity, type TransitSettings } from '../core/keys/vault-transit';
import { formatTransitRecipientString, setTransitClientSource } from '../core/keys/transit/slot';
import type { ProviderNotice } from '../core/keys/types';
import type { TransitConnection, TransitPort } from './transit';

function settingsOf(c: TransitConnection): TransitSettings {
  const auth: TransitSettings['auth'] =
    c.auth.method === 'token' ? { method: 'token', token: c.auth.token } : c.auth.method === 'approle' ? { method: 'approle', roleId: c.auth.roleId, secretId: c.auth.secretId } : { method: 'cert', ...(c.auth.certRole ? { name: c.auth.certRole } : {}) };
  return {
    address: c.address,
    allowedAddresses: [...c.allowlist],
    ...(c.namespace ? { namespace: c.namespace } : {}),
    ...(c.caCertPath ? { caCertFile: c.caCertPath } : {}),
    ...(c.clientCertPath ? { clientCertFile: c.clientCertPath } : {}),
    ...(c.clientKeyPath ? { clientKeyFile: c.clientKeyPath } : {}),
    auth,
  };
}

export function coreTransit(notify: (n: ProviderNotice) => void, env: NodeJS.ProcessEnv): TransitPort {
  // Only the app's settings decide where to connect: Vault's variables in the environment must not
  // silently change the address or credentials of a connection the person configured.
  const cleanEnv: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('VAULT_')));
  let installed = '';
  const install = (c: TransitConnection): void => {
    const key = JSON.stringify(settingsOf(c));
    if (key === installed) return;
    installed = key;
    setTransitClientSource(() => TransitClient.fromSettings(settingsOf(c), cleanEnv));
  };
  return {
    async recipient(c) {
      install(c);
      return formatTransitRecipientString({ mount: c.mount || 'transit', key: c.keyName }, c.address);
    },
    async identity(c) {
      install(c);
      notify({ kind: 'contacting', message: `Contacting Vault at ${c.address}…` });
      return new TransitIdentity(TransitClient.fromSettings(settingsOf(c), cleanEnv), { only: { mount: c.mount || 'transit', key: c.keyName } });
    },
    async test(c) {
      if (!c.keyName) throw new CofferError('TRANSIT_CONFIG', 'enter the name of the Transit key to use');
      const client = TransitClient.fromSettings(settingsOf(c), cleanEnv);
      try {
        const h = await client.health();
        if (h.sealed) return { ok: false, message: `Vault at ${c.address} is sealed; ask its operators to unseal it`, keyVersions: null };
        await client.login();
        const info = await client.readKey({ mount: c.mount || 'transit', key: c.keyName });
        const tls = client.lastTls();
        const how = tls ? `over TLS (${tls.protocol ?? 'TLS'})` : 'over plain HTTP on this computer';
        return { ok: true, message: `Connected to Vault ${h.version} at ${c.address} ${how}; Transit key "${info.name}" (${info.type}) is at version ${info.latestVersion}.`, keyVersions: info.latestVersion };
      } finally {
        client.close();
      }
    },
  };
}
