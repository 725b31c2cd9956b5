/**
 * Links the app may hand to the system browser. A link the page asks to open (window.open, a
 * target=_blank anchor) goes out only if it is one of Coffer's documentation pages: a compromised
 * page cannot use the app to open arbitrary URLs (custom schemes, file://, phishing pages).
 */

/** Documentation locations: a URL must be one of these or lie under one of them (same origin, path prefix at a "/"). */
export const DOC_URLS: readonly string[] = ['https://github.com/coffer-app/coffer'];

export function isAllowedExternalUrl(url: string, allow: readonly string[] = DOC_URLS): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== 'https:' || u.username || u.password) return false;
  return allow.some((a) => {
    const base = new URL(a);
    if (u.origin !== base.origin) return false;
    const p = base.pathname.replace(/\/+$/, '');
    return u.pathname === p || u.pathname.startsWith(`${p}/`);
  });
}
