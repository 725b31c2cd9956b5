/**
 * `coffer vault rewrap DIR`: after a Transit key rotated, move a vault's Transit-wrapped keys to the
 * key's latest version with transit/rewrap (batched). Vault decrypts and re-encrypts inside itself;
 * the vault key is not sent to Vault. Slot wraps keep their header MAC (recomputed with the epoch key
 * the unlock already holds); in strict vaults the sealed file keys are rewrapped too.
 */
import type { Stanza } from '../keys/types';
import type { Vault } from './vault';
import type { TransitClient } from '../keys/transit/client';
import { rewrapTransitStanzas, parseTransitStanza, TRANSIT_STANZA } from '../keys/vault-transit';
import { TransitFileKeyGuard, isSealedFileKey } from '../keys/transit/strict';
import { transitClient } from '../keys/transit/slot';

export interface RewrapReport {
  /** Slot wraps (one per slot and epoch) rewritten. */
  readonly wraps: number;
  /** Strict vaults: file keys rewrapped. */
  readonly fileKeys: number;
  /** HTTP requests sent to Vault. */
  readonly requests: number;
}

export async function rewrapVaultTransit(vault: Vault, client: TransitClient = transitClient()): Promise<RewrapReport> {
  const before = client.requestCount;
  const wraps = await vault.rewriteSlotWraps(async (items) => {
    // All Transit stanzas of all wraps in one rewrapTransitStanzas call (one key read + one batch per key).
    const flat: Stanza[] = [];
    const where: [number, number][] = [];
    items.forEach((w, i) => w.stanzas.forEach((s, j) => {
      if (s.type === TRANSIT_STANZA) {
        flat.push(s);
        where.push([i, j]);
      }
    }));
    const out: (Stanza[] | null)[] = items.map(() => null);
    if (flat.length === 0) return out;
    const res = await rewrapTransitStanzas(client, flat);
    res.stanzas.forEach((s, k) => {
      if (s === flat[k]) return;
      const [i, j] = where[k] as [number, number];
      const cur = out[i] ?? [...(items[i] as { stanzas: readonly Stanza[] }).stanzas];
      cur[j] = s;
      out[i] = cur;
    });
    return out;
  });
  let fileKeys = 0;
  const strict = vault.strict;
  if (strict && isSealedFileKey(strict)) {
    const guard = TransitFileKeyGuard.fromId(strict, client);
    fileKeys = await vault.rewriteSealedKeys(async (sealed) => {
      const latest = (await client.readKey(guard.ref)).latestVersion;
      const old = sealed.flatMap((s, i) => {
        const m = /:vault:v(\d+):/.exec(s);
        return m && Number(m[1]) < latest ? [i] : [];
      });
      const next = [...sealed];
      if (old.length === 0) return next;
      const rewrapped = await guard.rewrap(old.map((i) => sealed[i] as string));
      old.forEach((i, j) => {
        next[i] = rewrapped[j] as string;
      });
      return next;
    });
  }
  return { wraps, fileKeys, requests: client.requestCount - before };
}

/** Key versions the vault's Transit stanzas use, per MOUNT/KEY (for `coffer transit status`). */
export function transitVersionsOf(stanzas: readonly Stanza[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const s of stanzas) {
    const p = parseTransitStanza(s);
    if (!p) continue;
    const k = `${p.mount}/${p.key}`;
    out.set(k, [...(out.get(k) ?? []), p.version]);
  }
  return out;
}
