import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { initSodium } from '../../../main/core/crypto/sodium';
import { CofferError } from '../../../main/core/errors';
import { decryptFile } from '../../../main/core/format/file';
import { PassphraseIdentity } from '../../../main/core/keys/passphrase';
import type { Identity } from '../../../main/core/keys/types';
import { nonInteractiveUI } from '../../../main/core/keys/types';
import { X25519Identity } from '../../../main/core/keys/x25519';
import { sink } from '../../helpers/streams';
import { loadVectors } from '../../helpers/vectors';

const vectors = loadVectors();

beforeAll(async () => {
  await initSodium();
});

describe('frozen format vectors', () => {
  it('are all present', () => {
    const names = vectors.map((v) => v.name);
    for (const n of ['size-0', 'size-1', 'size-65535', 'size-65536', 'size-65537', 'size-131572', 'several-recipients', 'passphrase',
      'bad-header-mac', 'payload-bit-flip', 'final-chunk-removed', 'trailing-bytes', 'chunks-swapped', 'no-matching-identity',
      'oversize-header', 'excessive-argon2-memory', 'excessive-argon2-passes']) {
      expect(names).toContain(n);
    }
  });

  for (const v of vectors) {
    it(`${v.name}: ${v.meta.expect}${v.meta['error-code'] ? ` (${v.meta['error-code']})` : ''}`, async () => {
      const ids: Identity[] = [];
      if (v.meta.identity) ids.push(X25519Identity.parse(v.meta.identity));
      if (v.meta.passphrase) ids.push(new PassphraseIdentity(v.meta.passphrase));
      const out = sink();
      const run = decryptFile(Readable.from([v.file]), out.stream, ids, nonInteractiveUI);
      if (v.meta.expect === 'success') {
        await run;
        const pt = out.bytes();
        expect(pt.length).toBe(Number(v.meta['plaintext-size']));
        expect(createHash('sha256').update(pt).digest('hex')).toBe(v.meta['plaintext-sha256']);
      } else {
        const err = await run.then(() => null, (e: unknown) => e);
        expect(err).toBeInstanceOf(CofferError);
        expect((err as CofferError).code).toBe(v.meta['error-code']);
        // Nothing unauthenticated was released: a failing vector may release at most the chunks that verified.
        if (v.meta['error-code'] !== 'TRUNCATED' && v.meta['error-code'] !== 'TRAILING_DATA' && v.meta['error-code'] !== 'PAYLOAD_TAMPERED') {
          expect(out.bytes().length).toBe(0);
        }
      }
    });
  }
});
