/**
 * The Content Security Policy of every page Coffer shows: the Electron window (a response header
 * and a <meta> in renderer/index.html) and the browser shell (`coffer ui`), where the only change
 * is that the page may talk to its own bridge (connect-src to its own origin's WebSocket).
 */
export const CSP_DIRECTIVES: readonly string[] = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-src 'none'",
  "frame-ancestors 'none'",
];

export const CSP = CSP_DIRECTIVES.join('; ');

/** The same policy, with connect-src limited to the bridge at `origin` (http://127.0.0.1:PORT). */
export function browserCsp(origin: string): string {
  const ws = origin.replace(/^http:/, 'ws:');
  return CSP_DIRECTIVES.map((d) => (d.startsWith('connect-src') ? `connect-src ${origin} ${ws}` : d)).join('; ');
}
