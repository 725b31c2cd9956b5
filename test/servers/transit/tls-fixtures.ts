/**
 * Throwaway TLS material for the Transit test server and the provider tests: a CA, a server
 * certificate for 127.0.0.1/localhost, one for the wrong host, an expired one, one from an unknown
 * CA, and client certificates (one from the CA, one from a stranger) for mTLS. ECDSA P-256, made in
 * memory with @peculiar/x509 in a few milliseconds; `writeTlsFixtures` puts them in a folder.
 */
import { webcrypto, createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 3600 * 1000;

export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

export interface TlsFixtures {
  readonly ca: PemPair;
  /** A second, unrelated CA: certificates from it fail chain verification. */
  readonly otherCa: PemPair;
  /** Valid for 127.0.0.1, ::1 and localhost. */
  readonly server: PemPair;
  /** Valid, from the CA, but only for wrong.example. */
  readonly wrongHost: PemPair;
  /** For 127.0.0.1/localhost, from the CA, but expired yesterday. */
  readonly expired: PemPair;
  /** For 127.0.0.1/localhost, signed by otherCa. */
  readonly unknownCa: PemPair;
  /** Client certificate from the CA (mTLS accepted). */
  readonly client: PemPair;
  /** Client certificate from otherCa (mTLS rejected). */
  readonly strangerClient: PemPair;
  /** base64 SHA-256 of the server certificate's SubjectPublicKeyInfo (for pinning). */
  readonly serverSpkiSha256: string;
  /** Make another server certificate from the CA, e.g. for a proxy test host name. */
  issueServer(names: readonly string[]): Promise<PemPair>;
}

type Keys = CryptoKeyPair;

async function keyPair(): Promise<Keys> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as Keys;
}

async function keyPem(k: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', k as unknown as webcrypto.CryptoKey));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
}

let serial = 1;

async function makeCa(name: string): Promise<{ pair: PemPair; keys: Keys; cert: x509.X509Certificate }> {
  const keys = await keyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 30 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { pair: { cert: cert.toString('pem') + '\n', key: await keyPem(keys.privateKey) }, keys, cert };
}

async function issue(
  ca: { keys: Keys; cert: x509.X509Certificate },
  opts: { cn: string; names?: readonly string[]; client?: boolean; notBefore?: Date; notAfter?: Date },
): Promise<PemPair> {
  const keys = await keyPair();
  const names = (opts.names ?? []).map((n) => (/^[0-9.]+$/.test(n) || n.includes(':') ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    subject: `CN=${opts.cn}`,
    issuer: ca.cert.subject,
    notBefore: opts.notBefore ?? new Date(Date.now() - DAY),
    notAfter: opts.notAfter ?? new Date(Date.now() + 30 * DAY),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([opts.client ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth]),
      ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await keyPem(keys.privateKey) };
}

/** base64(SHA-256(SubjectPublicKeyInfo DER)) of a PEM certificate, the form Coffer's pins use. */
export function spkiSha256(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

const LOCAL = ['127.0.0.1', '::1', 'localhost'];

export async function makeTlsFixtures(): Promise<TlsFixtures> {
  const ca = await makeCa('Coffer Test CA');
  const other = await makeCa('Unknown Test CA');
  const server = await issue(ca, { cn: 'vault.local', names: LOCAL });
  return {
    ca: ca.pair,
    otherCa: other.pair,
    server,
    wrongHost: await issue(ca, { cn: 'wrong.example', names: ['wrong.example'] }),
    expired: await issue(ca, { cn: 'expired.local', names: LOCAL, notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) }),
    unknownCa: await issue(other, { cn: 'vault.local', names: LOCAL }),
    client: await issue(ca, { cn: 'coffer-client', client: true }),
    strangerClient: await issue(other, { cn: 'stranger', client: true }),
    serverSpkiSha256: spkiSha256(server.cert),
    issueServer: (names) => issue(ca, { cn: names[0] ?? 'server', names }),
  };
}

/** Writes ca.pem, server.pem, server-key.pem, client.pem, client-key.pem … into `dir` (0600 keys). */
export function writeTlsFixtures(f: TlsFixtures, dir: string): Record<string, string> {
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string> = {};
  const put = (name: string, text: string, secret: boolean): void => {
    const p = path.join(dir, name);
    writeFileSync(p, text, { mode: secret ? 0o600 : 0o644 });
    files[name] = p;
  };
  put('ca.pem', f.ca.cert, false);
  put('server.pem', f.server.cert, false);
  put('server-key.pem', f.server.key, true);
  put('client.pem', f.client.cert, false);
  put('client-key.pem', f.client.key, true);
  return files;
}
