/**
 * The points of docs/FORMAT.md that an implementation written from the spec alone had to guess
 * (issue 11, items 15–21), each checked against the code and the frozen vault vector. The vault half
 * re-implements the spec's steps with only libsodium, node:crypto and the header grammar, so a
 * mismatch between the text and the bytes fails here.
 */
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initSodium, sodium } from '../../../main/core/crypto/sodium';
import { CofferError } from '../../../main/core/errors';
import { decodeB64, encodeB64 } from '../../../main/core/format/base64';
import { unwrapKey } from '../../../main/core/format/file';
import { encodeHeader, encodeStanza, findHeaderEnd, parseHeader } from '../../../main/core/format/header';
import { parseIdentityText } from '../../../main/core/keys/identity-file';
import type { Identity, Stanza } from '../../../main/core/keys/types';
import { X25519Identity } from '../../../main/core/keys/x25519';
import { encodeRecoveryKey } from '../../../main/core/vault/recovery';

const VEC = path.join(__dirname, '../../vectors/vault');

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof CofferError) return e.code;
    throw e;
  }
  return 'no error';
}

async function codeOfAsync(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
  } catch (e) {
    if (e instanceof CofferError) return e.code;
    throw e;
  }
  return 'no error';
}

const stanza = (args: string[] = [], body: Uint8Array = new Uint8Array(5)): Stanza => ({ type: 'x', args, body });
const header = (stanzas: string): Buffer => Buffer.from(`coffer/v1\n${stanzas}--- ${'A'.repeat(43)}\n`, 'latin1');

beforeAll(async () => {
  await initSodium();
});

describe('FORMAT.md §2.4/§2.5: error codes and their precedence (items 15, 16)', () => {
  it('more than 512 stanzas is HEADER_TOO_LARGE; 512 parse', () => {
    const s512 = Array.from({ length: 512 }, () => encodeStanza(stanza())).join('');
    expect(parseHeader(header(s512)).stanzas).toHaveLength(512);
    expect(codeOf(() => parseHeader(header(s512 + encodeStanza(stanza()))))).toBe('HEADER_TOO_LARGE');
  });

  it('more than 16 arguments is HEADER_INVALID; 16 parse (the type is not counted)', () => {
    const args = (n: number): string => Array.from({ length: n }, (_, i) => `a${i}`).join(' ');
    expect(parseHeader(header(`-> x ${args(16)}\nAAAA\n`)).stanzas[0]?.args).toHaveLength(16);
    expect(codeOf(() => parseHeader(header(`-> x ${args(17)}\nAAAA\n`)))).toBe('HEADER_INVALID');
  });

  it('the size limit is checked before any stanza is parsed', () => {
    // 64 KiB of stanza lines that would each be HEADER_INVALID (a tab, a bad body) and no MAC line.
    const junk = Buffer.from(`coffer/v1\n${'-> x\tbad\n!!!!\n'.repeat(6000)}`, 'latin1');
    expect(junk.length).toBeGreaterThan(65_536);
    expect(codeOf(() => findHeaderEnd(junk))).toBe('HEADER_TOO_LARGE');
    // Positive control: the same junk under the limit with a MAC line is found to be malformed.
    const small = Buffer.from(`coffer/v1\n-> x\tbad\n!!!!\n--- ${'A'.repeat(43)}\n`, 'latin1');
    expect(codeOf(() => parseHeader(small.subarray(0, findHeaderEnd(small))))).toBe('HEADER_INVALID');
  });

  it('magic comes first: a bad magic line on an oversized input is BAD_MAGIC', () => {
    const big = Buffer.concat([Buffer.from('age-encryption.org/v1\n'), Buffer.alloc(70_000, 0x41)]);
    expect(codeOf(() => findHeaderEnd(big))).toBe('BAD_MAGIC');
  });

  it('an unwrapped key that is not 32 bytes is HEADER_INVALID, before the header MAC is checked', async () => {
    const short: Identity = { kind: 'test', interactive: false, unwrap: () => Promise.resolve(new Uint8Array(31)) };
    let macChecked = false;
    const code = await codeOfAsync(() => unwrapKey([stanza()], [short], {} as never, () => {
      macChecked = true;
    }));
    expect(code).toBe('HEADER_INVALID');
    expect(macChecked).toBe(false);
  });
});

describe('FORMAT.md §4.1.1: identity files (item 20)', () => {
  it('comment lines, blank lines and CRLF around one key line; anything else is BAD_IDENTITY_FILE', () => {
    const id = X25519Identity.generate();
    const text = `# created: x\r\n\r\n   # indented comment\n${id.toString().toLowerCase()}\n# trailing comment\n`;
    expect(parseIdentityText(text, 'f').identities).toHaveLength(1);
    expect(codeOf(() => parseIdentityText('# only comments\n', 'f'))).toBe('BAD_IDENTITY_FILE');
    expect(codeOf(() => parseIdentityText(`${id.toString()}\nnot a key\n`, 'f'))).toBe('BAD_IDENTITY_FILE');
    id.destroy();
  });
});

describe('FORMAT.md §6.4: the recovery key bit order (item 19)', () => {
  it('big-endian 5-bit groups, checksum from the first 20 bits of the hash', () => {
    const r = new Uint8Array(20);
    r[19] = 1;
    expect(encodeRecoveryKey(r)).toBe('0000-0000-0000-0000-0000-0000-0000-0001-25VE');
    const first = new Uint8Array(20);
    first[0] = 0x80; // the most significant bit of byte 0 is the top bit of the first character
    expect(encodeRecoveryKey(first).slice(0, 4)).toBe('G000');
  });
});

describe('FORMAT.md §6: the vault vector read from the spec alone (items 17, 18, 19, 21)', () => {
  const V = path.join(VEC, 'v1');

  it('expected.json and the credentials live in test/vectors/vault/, not in v1/', () => {
    for (const f of ['expected.json', 'passphrase.txt', 'recovery-key.txt', 'member.key']) {
      expect(existsSync(path.join(VEC, f)), f).toBe(true);
      expect(existsSync(path.join(V, f)), f).toBe(false);
    }
  });

  it('key-file MAC keyed by HKDF(VK_E, "header"); signed objects MAC the body without "\\n"; record AD uses ASCII ids', async () => {
    const na = sodium();
    const desc = JSON.parse(readFileSync(path.join(V, 'coffer-vault.json'), 'utf8')) as { id: string };
    const member = X25519Identity.parse(readFileSync(path.join(VEC, 'member.key'), 'utf8').trim());
    const memberSlot = readdirSync(path.join(V, 'slots')).map((f) => readFileSync(path.join(V, 'slots', f), 'utf8'))
      .find((t) => t.includes('"type":"x25519"')) as string;
    const slotId = (JSON.parse(memberSlot.split('\n')[0] as string) as { slot: string }).slot;
    const epoch = readdirSync(path.join(V, 'epochs')).sort().at(-1)?.replace(/\.epoch$/, '') as string;

    // §6.4: keys/<S>.<E>.key is a coffer header; sealed box gives VK_E.
    const keyFile = readFileSync(path.join(V, 'keys', `${slotId}.${epoch}.key`));
    const h = parseHeader(keyFile);
    expect(h.length).toBe(keyFile.length); // no payload after the MAC line
    const vk = Buffer.from(await member.unwrap(h.stanzas) as Uint8Array); // crypto_box_seal_open (§4.1)
    expect(vk.length).toBe(32);
    const macKey = Buffer.from(hkdfSync('sha256', vk, Buffer.alloc(0), 'header', 32));
    expect(createHmac('sha256', macKey).update(h.macInput).digest().equals(h.mac)).toBe(true);
    // Negative control: VK_E used directly as the HMAC key does not give the MAC.
    expect(createHmac('sha256', vk).update(h.macInput).digest().equals(h.mac)).toBe(false);

    // §6.2: the slot's MAC covers the first line's bytes without its "\n".
    const vid = Buffer.from(desc.id, 'hex');
    const derive = (info: string): Buffer => Buffer.from(hkdfSync('sha256', vk, vid, `coffer-vault ${info}`, 32));
    const mac = (withNl: boolean): string => encodeB64(createHmac('sha256', derive('mac'))
      .update(`coffer-vault-slot/v1\0${memberSlot.split('\n')[0] as string}${withNl ? '\n' : ''}`).digest());
    expect(memberSlot).toBe(`${memberSlot.split('\n')[0] as string}\nmac: ${mac(false)}\n`);
    expect(memberSlot).not.toContain(mac(true));

    // §6.5: a record under the current epoch opens with AD made of the ids' ASCII text.
    const recFile = readdirSync(path.join(V, 'records')).find((f) => /^[0-9a-f]{32}\.rec$/.test(f)
      && readFileSync(path.join(V, 'records', f), 'utf8').includes(` ${epoch} `)) as string;
    const entry = recFile.replace(/\.rec$/, '');
    const [, recEpoch, b64] = /^coffer-vault-record\/v1 (\S+) (\S+)\n$/.exec(readFileSync(path.join(V, 'records', recFile), 'utf8')) as RegExpExecArray;
    const raw = decodeB64(b64 as string) as Buffer;
    const open = (ad: Buffer): Uint8Array | null => na.aeadDecrypt(raw.subarray(24), ad, raw.subarray(0, 24), derive('record'));
    const asciiAd = Buffer.from(['coffer-vault-record/v1', desc.id, entry, recEpoch].join('\0'), 'utf8');
    const pt = open(asciiAd);
    expect(pt).not.toBeNull();
    expect((JSON.parse(Buffer.from(pt as Uint8Array).toString('utf8')) as { id: string }).id).toBe(entry);
    // Negative control: the ids as decoded bytes do not open it.
    const bytesAd = Buffer.concat([Buffer.from('coffer-vault-record/v1\0'), vid, Buffer.from([0]), Buffer.from(entry, 'hex'), Buffer.from(`\0${recEpoch as string}`)]);
    expect(open(bytesAd)).toBeNull();
    member.destroy();
  });

  it('a header written by encodeHeader is MACed the same way (sanity of §2.3 for any key)', () => {
    const k = randomBytes(32);
    const bytes = encodeHeader([stanza()], k);
    const h = parseHeader(bytes);
    const mk = Buffer.from(hkdfSync('sha256', k, Buffer.alloc(0), 'header', 32));
    expect(createHmac('sha256', mk).update(h.macInput).digest().equals(h.mac)).toBe(true);
  });
});
