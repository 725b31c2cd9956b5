/**
 * HashiCorp Vault Transit in the CLI.
 *
 *   coffer transit status [--vault-config FILE] [--transit-key NAME] [--transit-mount M] [--json]
 *   coffer vault rewrap DIR [unlock options] [--json]        (exported as vaultRewrapCommand)
 *
 * Importing this module registers `--vault-config FILE` as an unlock option of every `coffer vault`
 * command, so vaults with a vault-transit slot unlock through Vault. Vault's environment variables
 * (VAULT_ADDR, VAULT_TOKEN, VAULT_CACERT, …) are honoured; the file gives the rest (AppRole, pins,
 * allowed addresses). See docs/VAULT-TRANSIT.md.
 *
 * For `coffer vault init`/`grant`, main/cli/vault.ts adds TRANSIT_MEMBER_OPTIONS to its options and
 * calls `transitMembers(values, ctx)` (recipients to add, and the strict-mode guard id for init).
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { CofferError } from '../core/errors';
import { initSodium } from '../core/crypto/sodium';
import { TransitClient, resolveTransitConfig, type TransitSettings } from '../core/keys/vault-transit';
import { formatTransitRecipientString, setTransitClientSource, transitClient } from '../core/keys/transit/slot';
import { rewrapVaultTransit } from '../core/vault/transit-rewrap';
import { openVault } from '../core/vault';
import { parse } from './args';
import { UsageError, type CliContext, type Subcommand } from './context';
import { registerUnlockOptions, resolveUnlock, unlockOptions, unlockUsage, type OptionValues, type UnlockExtension } from './unlock';

const STATUS_USAGE = 'usage: coffer transit status [--vault-config FILE] [--transit-key NAME] [--transit-mount M] [--json]';
const TRANSIT_USAGE = `usage: coffer transit status …\n${STATUS_USAGE}`;

const SETTINGS_KEYS = new Set(['address', 'allowedAddresses', 'namespace', 'caCertFile', 'caCertPem', 'clientCertFile', 'clientKeyFile', 'tlsServerName', 'spkiPins', 'auth', 'timeoutMs']);

/** Reads a `--vault-config` JSON file (see docs/VAULT-TRANSIT.md); unknown fields are refused. */
export function readVaultConfig(file: string): TransitSettings {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CofferError('TRANSIT_CONFIG', code ? `cannot read --vault-config ${file} (${code})` : `--vault-config ${file} is not valid JSON`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new CofferError('TRANSIT_CONFIG', `--vault-config ${file} must hold a JSON object`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!SETTINGS_KEYS.has(k)) throw new CofferError('TRANSIT_CONFIG', `--vault-config ${file}: unknown setting "${k}"`);
  const str = (k: string): void => {
    if (o[k] !== undefined && typeof o[k] !== 'string') throw new CofferError('TRANSIT_CONFIG', `--vault-config ${file}: "${k}" must be a string`);
  };
  for (const k of ['address', 'namespace', 'caCertFile', 'caCertPem', 'clientCertFile', 'clientKeyFile', 'tlsServerName']) str(k);
  for (const k of ['allowedAddresses', 'spkiPins']) {
    if (o[k] !== undefined && !(Array.isArray(o[k]) && (o[k] as unknown[]).every((x) => typeof x === 'string'))) throw new CofferError('TRANSIT_CONFIG', `--vault-config ${file}: "${k}" must be a list of strings`);
  }
  if (o.timeoutMs !== undefined && (typeof o.timeoutMs !== 'number' || o.timeoutMs < 100)) throw new CofferError('TRANSIT_CONFIG', `--vault-config ${file}: "timeoutMs" must be a number of milliseconds`);
  const auth = o.auth as Record<string, unknown> | undefined;
  if (auth !== undefined) {
    if (!auth || typeof auth !== 'object' || !['token', 'approle', 'cert'].includes(String(auth.method))) {
      throw new CofferError('TRANSIT_CONFIG', `--vault-config ${file}: "auth.method" must be "token", "approle" or "cert"`);
    }
    for (const [k, v] of Object.entries(auth)) if (typeof v !== 'string') throw new CofferError('TRANSIT_CONFIG', `--vault-config ${file}: "auth.${k}" must be a string`);
  }
  return o as TransitSettings;
}

function settingsFrom(values: OptionValues): TransitSettings {
  const file = values['vault-config'];
  return typeof file === 'string' ? readVaultConfig(file) : {};
}

/** Installs the process-wide Transit client source from --vault-config and the environment (nothing is contacted yet). */
export function configureTransit(values: OptionValues, ctx: CliContext): boolean {
  const settings = settingsFrom(values);
  if (!settings.address && !ctx.env.VAULT_ADDR) return false;
  // Resolved on first use, so a configuration problem (plain HTTP, VAULT_SKIP_VERIFY, a missing CA
  // file) is reported by the vault that needs Vault, not by every command.
  setTransitClientSource(() => new TransitClient(resolveTransitConfig(settings, ctx.env, os.homedir()), { env: ctx.env }));
  return true;
}

/** `--vault-config FILE` for every `coffer vault` command. Registered when this module is imported. */
export const transitUnlockExtension: UnlockExtension = {
  name: 'vault-transit',
  options: { 'vault-config': { type: 'string' } },
  usage: '[--vault-config FILE]',
  identities(values, ctx) {
    // Identities come from the vault-transit slots themselves once a client source is installed.
    configureTransit(values, ctx);
    return Promise.resolve([]);
  },
};
registerUnlockOptions(transitUnlockExtension);

/** Options `coffer vault init` and `grant` add for Transit members. */
export const TRANSIT_MEMBER_OPTIONS = {
  'transit-key': { type: 'string' },
  'transit-mount': { type: 'string' },
  strict: { type: 'boolean' },
  'vault-config': { type: 'string' },
} as const;

export const TRANSIT_MEMBER_USAGE = '[--transit-key NAME [--transit-mount M] [--strict]] [--vault-config FILE]';

/**
 * For `vault init`/`grant`: the vault-transit member to add for `--transit-key NAME`, and (init)
 * the strict-mode guard id for `--strict`. The recipient records the configured Vault address.
 */
export function transitMembers(values: OptionValues, ctx: CliContext): { recipients: { recipient: string; label: string }[]; strict?: string } {
  const key = values['transit-key'];
  const mountV = values['transit-mount'];
  if (typeof key !== 'string') {
    if (values.strict === true) throw new UsageError('--strict needs --transit-key NAME (strict mode wraps every file key with that Transit key)');
    if (typeof mountV === 'string') throw new UsageError('--transit-mount needs --transit-key NAME');
    return { recipients: [] };
  }
  if (!configureTransit(values, ctx)) throw new CofferError('TRANSIT_CONFIG', '--transit-key needs a Vault address: set VAULT_ADDR or give --vault-config FILE');
  const ref = { mount: (typeof mountV === 'string' ? mountV : 'transit').replace(/^\/+|\/+$/g, ''), key };
  const recipient = formatTransitRecipientString(ref, transitClient().address);
  return {
    recipients: [{ recipient, label: `Vault Transit key ${ref.mount}/${ref.key}` }],
    ...(values.strict === true ? { strict: formatTransitRecipientString(ref) } : {}),
  };
}

/** `coffer vault rewrap DIR`: after the Transit key rotated, upgrade this vault's Transit stanzas (and strict-mode file keys). */
export const vaultRewrapCommand: Subcommand = async (args, ctx) => {
  const use = `usage: coffer vault rewrap DIR ${unlockUsage()} [--json]`;
  const { values, positionals } = parse(args, { ...unlockOptions(), ...transitUnlockExtension.options, json: { type: 'boolean' } }, use);
  if (positionals.length !== 1) throw new UsageError(use);
  await initSodium();
  const { credentials, ui } = await resolveUnlock(values, ctx);
  if (!configureTransit(values, ctx)) throw new CofferError('TRANSIT_CONFIG', 'rewrap talks to Vault: set VAULT_ADDR (and VAULT_TOKEN) or give --vault-config FILE');
  const vault = await openVault(positionals[0] as string, { credentials, ui, stateDir: ctx.stateDir });
  try {
    const r = await rewrapVaultTransit(vault);
    if (values.json) ctx.stdout.write(`${JSON.stringify({ wraps: r.wraps, fileKeys: r.fileKeys, requests: r.requests }, null, 2)}\n`);
    else if (r.wraps === 0 && r.fileKeys === 0) ctx.stdout.write(`nothing to rewrap: ${vault.name} already uses the latest Transit key version\n`);
    else ctx.stdout.write(`rewrapped ${r.wraps} key slot wrap(s)${r.fileKeys ? ` and ${r.fileKeys} file key(s)` : ''} to the latest Transit key version (${r.requests} Vault requests)\n`);
  } finally {
    vault.lock();
  }
};

/** `coffer transit status`: address, auth, TLS, Vault health and the Transit key's versions. */
export const transitStatusCommand: Subcommand = async (args, ctx) => {
  const { values, positionals } = parse(args, { ...TRANSIT_MEMBER_OPTIONS, json: { type: 'boolean' } }, STATUS_USAGE);
  if (positionals.length > 0 || values.strict) throw new UsageError(STATUS_USAGE);
  const settings = settingsFrom(values);
  const client = TransitClient.fromSettings(settings, ctx.env, os.homedir());
  try {
    const cfg = client.config;
    const health = await client.health();
    const tls = client.lastTls();
    // Auth and key problems are shown in the report, then reported as the command's failure.
    const problems: CofferError[] = [];
    const attempt = async <T>(fn: () => Promise<T>): Promise<T | null> => {
      try {
        return await fn();
      } catch (e) {
        if (!(e instanceof CofferError)) throw e;
        problems.push(e);
        return null;
      }
    };
    const token = health.sealed ? null : await attempt(() => client.lookupSelf());
    const key = typeof values['transit-key'] === 'string' && !health.sealed
      ? await attempt(() => client.readKey({ mount: (values['transit-mount'] ?? 'transit').replace(/^\/+|\/+$/g, ''), key: values['transit-key'] as string }))
      : null;
    const report = {
      address: cfg.address,
      allowedAddresses: cfg.allowed,
      namespace: cfg.namespace ?? null,
      vault: { version: health.version, sealed: health.sealed, standby: health.standby },
      auth: { method: cfg.auth.method, source: cfg.auth.source, displayName: token?.displayName ?? null, policies: token?.policies ?? null, ttlSeconds: token?.ttl ?? null, expires: token?.expireTime ?? null },
      tls: tls
        ? { protocol: tls.protocol, cipher: tls.cipher, subject: tls.subject, issuer: tls.issuer, validTo: tls.validTo, subjectAltName: tls.subjectAltName, spkiPin: `sha256/${tls.spkiSha256}`, ca: cfg.caSource ?? 'system CAs', clientCertificate: !!cfg.clientCert, pinned: cfg.pins.length > 0 }
        : { protocol: null, note: 'plain HTTP (loopback only)' },
      key,
      problems: problems.map((p) => ({ code: p.code, message: p.message })),
      requests: client.requestCount,
    };
    if (values.json) {
      ctx.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      if (problems[0]) throw problems[0];
      return;
    }
    const lines = [
      `Vault:      ${cfg.address}${cfg.namespace ? ` (namespace ${cfg.namespace})` : ''}, version ${health.version || 'unknown'}${health.sealed ? ', SEALED' : ''}${health.standby ? ', standby' : ''}`,
      `Auth:       ${cfg.auth.method} (${cfg.auth.source})${token ? `, ${token.displayName || 'token'}, policies ${token.policies.join(', ') || 'none'}, ${token.ttl ? `expires in ${token.ttl} s` : 'no expiry'}` : ''}`,
      tls
        ? `TLS:        ${tls.protocol ?? '?'} ${tls.cipher}; certificate ${tls.subject} issued by ${tls.issuer}, valid until ${tls.validTo}; CA ${cfg.caSource ?? 'system CAs'}${cfg.clientCert ? '; client certificate sent' : ''}${cfg.pins.length ? '; public key pinned' : ''}`
        : 'TLS:        none (plain HTTP to this computer)',
      ...(tls ? [`SPKI pin:   sha256/${tls.spkiSha256}`] : []),
      ...(cfg.allowed.length > 1 ? [`Allowed:    ${cfg.allowed.join(', ')}`] : []),
      ...(key ? [`Key:        ${key.name} (${key.type}), latest version ${key.latestVersion}, min_decryption_version ${key.minDecryptionVersion}, min_encryption_version ${key.minEncryptionVersion}`] : []),
    ];
    ctx.stdout.write(`${lines.join('\n')}\n`);
    if (problems[0]) throw problems[0];
  } finally {
    client.close();
  }
};

/** `coffer transit …` */
export const transitCommand: Subcommand = async (args, ctx) => {
  const [sub, ...rest] = args;
  if (sub === 'status') return transitStatusCommand(rest, ctx);
  if (sub === '-h' || sub === '--help' || sub === 'help') {
    ctx.stdout.write(`${TRANSIT_USAGE}\n`);
    return;
  }
  throw new UsageError(sub === undefined ? TRANSIT_USAGE : `unknown transit command "${sub}"\n${TRANSIT_USAGE}`);
};
