/**
 * ACL policies, following vault/policy.go (HCL `path "…" { capabilities = […] }`) and vault/acl.go
 * (exact paths, a trailing `*` prefix glob, `+` for one path segment; `deny` wins over everything
 * on the rule that matches; the most specific rule is used). Only the subset Coffer's docs use is
 * parsed; anything else is rejected with a parse error rather than silently ignored.
 */

export type Capability = 'create' | 'read' | 'update' | 'delete' | 'list' | 'sudo' | 'deny' | 'patch';
const CAPABILITIES: readonly Capability[] = ['create', 'read', 'update', 'delete', 'list', 'sudo', 'deny', 'patch'];

export interface PathRule {
  readonly pattern: string;
  readonly capabilities: ReadonlySet<Capability>;
}

export function parsePolicy(hcl: string): PathRule[] {
  const rules: PathRule[] = [];
  const text = hcl.replace(/#[^\n]*/g, '').replace(/\/\/[^\n]*/g, '');
  const re = /path\s+"([^"]*)"\s*\{([^}]*)\}/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const body = m[2] ?? '';
    const caps = /capabilities\s*=\s*\[([^\]]*)\]/.exec(body);
    if (!caps) throw new Error(`failed to parse policy: path "${m[1]}" has no capabilities`);
    const set = new Set<Capability>();
    for (const raw of (caps[1] ?? '').split(',')) {
      const c = raw.trim().replace(/^"|"$/g, '');
      if (!c) continue;
      if (!CAPABILITIES.includes(c as Capability)) throw new Error(`failed to parse policy: invalid capability "${c}"`);
      set.add(c as Capability);
    }
    rules.push({ pattern: m[1] ?? '', capabilities: set });
  }
  const leftover = text.replace(re, '').trim();
  if (leftover) throw new Error(`failed to parse policy: unexpected "${leftover.slice(0, 40)}"`);
  return rules;
}

/** Vault's "default" policy, reduced to the token self-service paths. */
export const DEFAULT_POLICY = `
path "auth/token/lookup-self" { capabilities = ["read"] }
path "auth/token/renew-self" { capabilities = ["update"] }
path "auth/token/revoke-self" { capabilities = ["update"] }
path "sys/capabilities-self" { capabilities = ["update"] }
`;

function segmentsMatch(pattern: string, path: string): boolean {
  const glob = pattern.endsWith('*');
  const pat = glob ? pattern.slice(0, -1) : pattern;
  const pSegs = pat.split('/');
  const segs = path.split('/');
  for (let i = 0; i < pSegs.length; i++) {
    const ps = pSegs[i] as string;
    const s = segs[i];
    if (s === undefined) return false;
    const last = i === pSegs.length - 1;
    if (ps === '+') continue;
    if (last && glob) {
      if (!s.startsWith(ps)) return false;
      continue;
    }
    if (ps !== s) return false;
  }
  return glob ? segs.length >= pSegs.length : segs.length === pSegs.length;
}

/** Specificity for picking the winning rule: exact beats glob, then longer, then fewer `+`. */
function specificity(pattern: string): number {
  const exact = pattern.endsWith('*') ? 0 : 1_000_000;
  const plus = (pattern.match(/\+/g) ?? []).length;
  return exact + pattern.length * 100 - plus;
}

/** The capabilities the merged policies grant on `path` (merging rules with identical patterns). */
export function capabilitiesFor(policies: readonly (readonly PathRule[])[], path: string): Set<Capability> {
  const merged = new Map<string, Set<Capability>>();
  for (const rules of policies) {
    for (const r of rules) {
      const s = merged.get(r.pattern) ?? new Set<Capability>();
      for (const c of r.capabilities) s.add(c);
      merged.set(r.pattern, s);
    }
  }
  let best: { score: number; caps: Set<Capability> } | undefined;
  for (const [pattern, caps] of merged) {
    if (!segmentsMatch(pattern, path)) continue;
    const score = specificity(pattern);
    if (!best || score > best.score) best = { score, caps };
  }
  if (!best || best.caps.has('deny')) return new Set();
  return best.caps;
}
