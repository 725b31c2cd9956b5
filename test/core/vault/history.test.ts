/**
 * history.ts on its own: which epochs count, from verified links only (docs/FORMAT.md §6.7).
 * Graphs are written as child → parents; `r` marks revocation epochs.
 */
import { describe, expect, it } from 'vitest';
import { chooseHistory, type HistoryInput } from '../../../main/core/vault/history';

function input(links: Record<string, string[]>, revocations: string[] = [], state: { seen?: string[]; remembered?: string } = {}, extra: string[] = []): HistoryInput {
  const ids = new Set([...Object.keys(links), ...Object.values(links).flat()]);
  const opened = new Map([...ids].map((id) => [id, { n: Number(id.slice(1)), revokes: revocations.includes(id) }]));
  return {
    opened, links: new Map(Object.entries(links)), seenRevocations: state.seen ?? [], remembered: state.remembered ?? '',
    present: new Set([...ids, ...extra]), vaultName: 'T',
  };
}

describe('chooseHistory', () => {
  it('a straight line: the newest is current, everything is trusted', () => {
    const c = chooseHistory(input({ e3: ['e2'], e2: ['e1'], e1: [] }));
    expect(c).toMatchObject({ current: 'e3', joinable: [], revocations: [], forks: [] });
    expect([...c.trusted].sort()).toEqual(['e1', 'e2', 'e3']);
  });

  it('concurrent rotations on shared history are joined', () => {
    const c = chooseHistory(input({ e2: ['e1'], e3: ['e1'], e1: [] }));
    expect(c.current).toBe('e3');
    expect(c.joinable).toEqual(['e2']);
  });

  it('a fork from before a revocation is never current or joined, even with a bigger number', () => {
    // e2 revokes R; R forks e9 from e1.
    const c = chooseHistory(input({ e2: ['e1'], e9: ['e1'], e1: [] }, ['e2']));
    expect(c.current).toBe('e2');
    expect(c.joinable).toEqual([]);
    expect(c.forks.map((f) => f.id)).toEqual(['e9']);
    expect(c.trusted.has('e9')).toBe(false);
    expect(c.revocations).toEqual(['e2']);
  });

  it('a remembered revocation binds even when the folder offers only the fork', () => {
    expect(() => chooseHistory(input({ e9: ['e1'], e1: [] }, [], { seen: ['e2'] }))).toThrow(expect.objectContaining({ code: 'VAULT_ROLLBACK' }));
    expect(() => chooseHistory(input({ e9: ['e1'], e1: [] }, [], { seen: ['e2'] }, ['e2']))).toThrow(expect.objectContaining({ code: 'NO_IDENTITY' }));
  });

  it('two branches that each revoke someone: this computer\'s branch wins; with no state, neither', () => {
    const g = { e2: ['e1'], e3: ['e1'], e1: [] };
    expect(() => chooseHistory(input(g, ['e2', 'e3']))).toThrow(expect.objectContaining({ code: 'VAULT_CONFLICT' }));
    const c = chooseHistory(input(g, ['e2', 'e3'], { remembered: 'e2' }));
    expect(c.current).toBe('e2');
    expect(c.forks.map((f) => f.id)).toEqual(['e3']);
  });

  it('an epoch a hardware anchor records must be in the folder and every candidate must descend from it', () => {
    const anchor = [{ id: 'e3', source: 'hardware key T' }];
    // The folder lost e3 (an older copy): rollback, whatever the numbers.
    expect(() => chooseHistory({ ...input({ e9: ['e1'], e2: ['e1'], e1: [] }), anchors: anchor })).toThrow(expect.objectContaining({ code: 'VAULT_ROLLBACK', message: expect.stringMatching(/hardware key T records epoch e3/) }));
    // e3 is there, and a fork from e1 with a bigger number is not chosen: it does not descend from e3.
    const c = chooseHistory({ ...input({ e9: ['e1'], e4: ['e3'], e3: ['e2'], e2: ['e1'], e1: [] }), anchors: anchor });
    expect(c.current).toBe('e4');
    expect(c.forks.map((f) => f.id)).toEqual(['e9']);
    expect(c.forks[0]?.reason).toMatch(/does not descend from epoch e3, which hardware key T records/);
    // Present but nothing opened descends from it (only the fork opens): rollback.
    expect(() => chooseHistory({ ...input({ e9: ['e1'], e1: [] }, [], {}, ['e3']), anchors: anchor })).toThrow(expect.objectContaining({ code: 'VAULT_ROLLBACK' }));
    // Without the anchor the fork would have been chosen (the positive control).
    expect(chooseHistory(input({ e9: ['e1'], e2: ['e1'], e1: [] })).current).toBe('e9');
  });

  it('an unrelated history (planted with a fresh key) is a fork with state, refused without', () => {
    const g = { e2: ['e1'], e1: [], e7: [] };
    const c = chooseHistory(input(g, [], { remembered: 'e2' }));
    expect(c.current).toBe('e2');
    expect(c.forks.map((f) => f.id)).toEqual(['e7']);
    expect(() => chooseHistory(input(g))).toThrow(expect.objectContaining({ code: 'VAULT_TAMPERED' }));
  });

  it('a join made after the revocation keeps the revocation in force and is current', () => {
    // e2 revokes; e3 and e4 are concurrent rotations after it; e6 joins them.
    const c = chooseHistory(input({ e6: ['e3', 'e4'], e3: ['e2'], e4: ['e2'], e2: ['e1'], e1: [] }, ['e2']));
    expect(c.current).toBe('e6');
    expect(c.revocations).toEqual(['e2']);
    expect(c.forks).toEqual([]);
  });
});
