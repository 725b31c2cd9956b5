/**
 * Which epochs of a vault count (docs/FORMAT.md §6.7, "Choosing the history").
 *
 * The folder is hostile: anyone who ever held an epoch's vault key (a removed member R) can write
 * epochs that fork from it, and anyone at all can write an epoch with a fresh key wrapped to the
 * members' public keys. So nothing here trusts an epoch's own `parents` list. The only edges are
 * VERIFIED chain links: child C links to parent P when C's `chain[P]` decrypts under C's key to a key
 * that verifies P's MAC. "X descends from Y" means Y is reachable from X through such links.
 *
 * The rules:
 *   1. Authority after a revocation V is possession of the key of an epoch that descends from V. R
 *      holds keys of epochs before V only, so nothing R makes descends from V.
 *   2. The current epoch is chosen only among opened epochs that no other opened epoch links to,
 *      that descend from every revocation this computer has seen (state) and every revocation on the
 *      candidates' own verified history; this computer's last current epoch is preferred.
 *   3. Other such heads that share verified history with the current one are joined (concurrent
 *      rotations). Heads that fail rule 2, or share nothing with the current one, are reported as
 *      forks: never joined, their slots get no keys, their records are ignored.
 */
import { CofferError } from '../errors';

export interface HistoryInput {
  /** Opened (MAC-verified) epochs: id → number and whether it revokes something. */
  readonly opened: ReadonlyMap<string, { readonly n: number; readonly revokes: boolean }>;
  /** Verified chain links: child id → parent ids. */
  readonly links: ReadonlyMap<string, readonly string[]>;
  /** Revocation epochs this computer accepted before (state); each must stay in the history. */
  readonly seenRevocations: readonly string[];
  /** This computer's last current epoch ('' if none). */
  readonly remembered: string;
  /** Epoch ids present in the folder (opened or not). */
  readonly present: ReadonlySet<string>;
  readonly vaultName: string;
  /**
   * Epochs recorded outside the folder (a hardware key's freshness anchor, anchor.ts): like seen
   * revocations, each must be in the folder and every candidate must descend from it.
   */
  readonly anchors?: readonly { readonly id: string; readonly source: string }[];
}

export interface Fork {
  readonly id: string;
  readonly reason: string;
}

export interface HistoryChoice {
  readonly current: string;
  /** Other heads to join with the current one (concurrent changes on verified shared history). */
  readonly joinable: string[];
  /** Current, joinable and all their verified ancestors: the epochs whose objects count. */
  readonly trusted: Set<string>;
  /** Revocation epochs in force (ids), all ancestors of (or equal to) every trusted head. */
  readonly revocations: string[];
  /** Opened heads that are not part of the history, with the reason. */
  readonly forks: Fork[];
}

/** Verified ancestry (including the epoch itself), memoised. */
export class Ancestry {
  private readonly memo = new Map<string, Set<string>>();
  constructor(private readonly links: ReadonlyMap<string, readonly string[]>) {}
  of(id: string): Set<string> {
    const hit = this.memo.get(id);
    if (hit) return hit;
    const seen = new Set<string>([id]);
    const stack = [...(this.links.get(id) ?? [])];
    while (stack.length > 0) {
      const p = stack.pop() as string;
      if (seen.has(p)) continue;
      seen.add(p);
      stack.push(...(this.links.get(p) ?? []));
    }
    this.memo.set(id, seen);
    return seen;
  }
  /** Whether `id` descends from (or is) `ancestor`, through verified links only. */
  descends(id: string, ancestor: string): boolean {
    return this.of(id).has(ancestor);
  }
}

const byNewest = (opened: HistoryInput['opened']) => (a: string, b: string): number =>
  (opened.get(b)?.n ?? 0) - (opened.get(a)?.n ?? 0) || (a < b ? 1 : a > b ? -1 : 0);

export function chooseHistory(input: HistoryInput, anc: Ancestry = new Ancestry(input.links)): HistoryChoice {
  const { opened } = input;
  const linked = new Set<string>();
  for (const [child, parents] of input.links) if (opened.has(child)) for (const p of parents) linked.add(p);
  const tops = [...opened.keys()].filter((id) => !linked.has(id)).sort(byNewest(opened));
  const revsOf = (id: string): string[] => [...anc.of(id)].filter((e) => opened.get(e)?.revokes === true);
  const forks: Fork[] = [];

  // Rule 2a: revocations this computer has seen must be in the history.
  const seen = input.seenRevocations.filter((r) => r !== '');
  for (const r of seen) {
    if (!input.present.has(r)) {
      throw new CofferError('VAULT_ROLLBACK', `vault ${input.vaultName}: this computer has seen revocation epoch ${r}, which is no longer in the folder: it was rolled back to a copy from before that revocation, or the epoch was deleted`);
    }
  }
  const anchors = input.anchors ?? [];
  for (const a of anchors) {
    if (!input.present.has(a.id)) {
      throw new CofferError('VAULT_ROLLBACK', `vault ${input.vaultName} was rolled back: ${a.source} records epoch ${a.id} of this vault, which is not in the folder. This is an older copy (perhaps restored by a removed member): do not add files to it. Restore the newest copy, or ask the vault's owner`);
    }
  }
  let cand = tops.filter((t) => seen.every((r) => anc.descends(t, r)));
  for (const t of tops) {
    if (!cand.includes(t)) {
      const missing = seen.find((r) => !anc.descends(t, r)) as string;
      forks.push({ id: t, reason: `it does not descend from revocation ${missing}, which this computer has seen: it was made with a key from before that revocation` });
    }
  }
  if (anchors.length > 0 && cand.length > 0) {
    const kept = cand.filter((t) => anchors.every((a) => anc.descends(t, a.id)));
    for (const t of cand) {
      if (kept.includes(t)) continue;
      const a = anchors.find((x) => !anc.descends(t, x.id)) as { id: string; source: string };
      forks.push({ id: t, reason: `it does not descend from epoch ${a.id}, which ${a.source} records: it was made with a key from before that epoch` });
    }
    if (kept.length === 0) {
      throw new CofferError('VAULT_ROLLBACK', `vault ${input.vaultName}: no epoch these keys open descends from epoch ${anchors.map((a) => a.id).join(', ')}, which ${anchors.map((a) => a.source).join(', ')} records: the folder was rolled back or forked from an older copy. Restore the newest copy, or ask the vault's owner`);
    }
    cand = kept;
  }
  if (cand.length === 0) {
    if (tops.length === 0) throw new CofferError('NO_IDENTITY', `none of the keys given opens vault ${input.vaultName}`);
    throw new CofferError('NO_IDENTITY', `vault ${input.vaultName}: the keys given open only epochs from before revocation ${seen.join(', ')}, which this computer has seen (you were removed, or your key files for the newer epochs have not synced yet)`);
  }
  const preferRemembered = input.remembered !== '' && opened.has(input.remembered);
  // Rule 2b: every revocation on a candidate's verified history binds all candidates.
  for (;;) {
    const revs = new Set(cand.flatMap(revsOf));
    const next = cand.filter((t) => [...revs].every((r) => anc.descends(t, r)));
    if (next.length === cand.length) break;
    if (next.length === 0) {
      // Two branches each hold a revocation the other lacks. A removed member's fork cannot be told
      // from a concurrent revocation made elsewhere: the branch this computer was on wins, and
      // without one, neither is chosen automatically.
      const mine = preferRemembered ? cand.filter((t) => anc.descends(t, input.remembered)) : [];
      if (mine.length > 0 && mine.length < cand.length) {
        for (const t of cand) {
          if (!mine.includes(t)) forks.push({ id: t, reason: `it holds a revocation that the history this computer follows does not, and lacks one that it does: a fork from before a revocation` });
        }
        cand = mine;
        continue;
      }
      throw new CofferError('VAULT_CONFLICT', `vault ${input.vaultName} has branches that each remove a member the others do not (epochs ${cand.join(', ')}): a removed member may have forked it. Open it on a computer that has opened this vault before, or ask its owner`);
    }
    for (const t of cand) {
      if (!next.includes(t)) {
        const r = [...revs].find((x) => !anc.descends(t, x)) as string;
        forks.push({ id: t, reason: `it does not descend from revocation ${r}: it was made with a key from before that revocation (by a removed member, or by a change made without seeing the revocation)` });
      }
    }
    cand = next;
  }
  const current = (preferRemembered ? cand.find((t) => anc.descends(t, input.remembered)) : undefined) ?? [...cand].sort(byNewest(opened))[0] as string;
  const mine = anc.of(current);
  const joinable: string[] = [];
  for (const t of cand) {
    if (t === current) continue;
    if ([...anc.of(t)].some((e) => mine.has(e))) joinable.push(t);
    else if (!preferRemembered) {
      throw new CofferError('VAULT_TAMPERED', `vault ${input.vaultName} holds two unrelated epoch histories (${current} and ${t}): someone with write access to the folder planted one, or an epoch linking them has not synced yet. Open it on a computer that has opened this vault before`);
    } else {
      forks.push({ id: t, reason: 'it shares no verified history with this vault (planted with a fresh key)' });
    }
  }
  const trusted = new Set<string>();
  for (const h of [current, ...joinable]) for (const e of anc.of(h)) trusted.add(e);
  const revocations = [...new Set([current, ...joinable].flatMap(revsOf))].sort();
  return { current, joinable, trusted, revocations, forks };
}
