/** The WebDAV `If` request header (RFC 4918 §10.4): parsed into lists of conditions. */

export interface IfCondition {
  readonly not: boolean;
  /** A state token (lock token, or e.g. DAV:no-lock), or null for an entity tag condition. */
  readonly token: string | null;
  readonly etag: string | null;
}

export interface IfList {
  /** The tagged resource (as written: an absolute URI or a path), or null for the request URI. */
  readonly resource: string | null;
  readonly conditions: readonly IfCondition[];
}

/** Parses an If header; null when it is malformed (the request then gets 400). */
export function parseIfHeader(h: string): IfList[] | null {
  const lists: IfList[] = [];
  let i = 0;
  let resource: string | null = null;
  let tagged: boolean | null = null;
  const ws = (): void => {
    while (i < h.length && /\s/.test(h[i] as string)) i++;
  };
  const until = (close: string): string | null => {
    const j = h.indexOf(close, i);
    if (j < 0) return null;
    const s = h.slice(i, j);
    i = j + 1;
    return s;
  };
  for (;;) {
    ws();
    if (i >= h.length) break;
    const c = h[i];
    if (c === '<') {
      if (tagged === false) return null;
      tagged = true;
      i++;
      resource = until('>');
      if (resource === null) return null;
      ws();
      if (h[i] !== '(') return null;
      continue;
    }
    if (c !== '(') return null;
    if (tagged === null) tagged = false;
    i++;
    const conditions: IfCondition[] = [];
    for (;;) {
      ws();
      if (h[i] === ')') {
        i++;
        break;
      }
      let not = false;
      if (/^not\b/i.test(h.slice(i, i + 4)) && /[\s<[]/.test(h[i + 3] ?? '')) {
        not = true;
        i += 3;
        ws();
      }
      if (h[i] === '<') {
        i++;
        const t = until('>');
        if (t === null || t === '') return null;
        conditions.push({ not, token: t, etag: null });
      } else if (h[i] === '[') {
        i++;
        const t = until(']');
        if (t === null || t === '') return null;
        conditions.push({ not, token: null, etag: t.trim() });
      } else return null;
    }
    if (conditions.length === 0) return null;
    lists.push({ resource: tagged ? resource : null, conditions });
  }
  return lists.length > 0 ? lists : null;
}

/** All state tokens named in the header (submitted lock tokens, RFC 4918 §10.4.1), also under Not. */
export function submittedTokens(lists: readonly IfList[]): Set<string> {
  const out = new Set<string>();
  for (const l of lists) for (const c of l.conditions) if (c.token) out.add(c.token);
  return out;
}
