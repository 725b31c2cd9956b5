/**
 * XML for the WebDAV drive: request bodies are parsed with saxes (namespace-aware, no DTDs, no
 * entity expansion) into a small element tree; responses are built as strings with escaping.
 */
import { SaxesParser } from 'saxes';
import { CofferError } from '../errors';

export const DAV = 'DAV:';

export interface XmlElement {
  readonly ns: string;
  readonly local: string;
  /** Attributes: `{ns}local` (or `local` without a namespace) → value. */
  readonly attrs: ReadonlyMap<string, string>;
  readonly children: XmlNode[];
}

export type XmlNode = XmlElement | string;

/** Bounds of a request body's XML: bytes are bounded by the reader, these bound the tree. */
const MAX_DEPTH = 64;
const MAX_ELEMENTS = 20_000;

/** Parses a whole XML document. Throws CofferError USAGE on anything not well-formed. */
export function parseXml(text: string): XmlElement {
  const parser = new SaxesParser({ xmlns: true, position: false });
  const stack: { ns: string; local: string; attrs: Map<string, string>; children: XmlNode[] }[] = [];
  let root: XmlElement | null = null;
  let count = 0;
  let failure: Error | null = null;
  parser.on('error', (e) => {
    failure ??= e;
  });
  parser.on('doctype', () => {
    failure ??= new Error('DOCTYPE is not allowed');
  });
  parser.on('opentag', (tag) => {
    if (++count > MAX_ELEMENTS || stack.length >= MAX_DEPTH) {
      failure ??= new Error('XML body is too large or too deep');
      return;
    }
    const attrs = new Map<string, string>();
    for (const a of Object.values(tag.attributes)) {
      if (a.prefix === 'xmlns' || (a.prefix === '' && a.local === 'xmlns')) continue;
      if (a.prefix === 'xmlns' && a.value === '') failure ??= new Error('empty namespace prefix binding');
      attrs.set(a.uri ? `{${a.uri}}${a.local}` : a.local, a.value);
    }
    for (const [prefix, uri] of Object.entries(tag.ns ?? {})) {
      if (prefix !== '' && uri === '') failure ??= new Error(`namespace prefix ${prefix} bound to the empty name`);
    }
    stack.push({ ns: tag.uri ?? '', local: tag.local ?? tag.name, attrs, children: [] });
  });
  parser.on('closetag', () => {
    const el = stack.pop();
    if (!el) return;
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(el);
    else root = el;
  });
  const onText = (t: string): void => {
    const top = stack[stack.length - 1];
    if (top) top.children.push(t);
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  try {
    parser.write(text).close();
  } catch (e) {
    failure ??= e as Error;
  }
  const err = failure as Error | null;
  if (err || !root) throw new CofferError('USAGE', `the request body is not well-formed XML${err ? `: ${err.message.split('\n')[0] ?? ''}` : ''}`);
  return root;
}

export const isElement = (n: XmlNode): n is XmlElement => typeof n !== 'string';

/** Child elements (whitespace and text dropped). */
export function elements(el: XmlElement): XmlElement[] {
  return el.children.filter(isElement);
}

export function child(el: XmlElement, ns: string, local: string): XmlElement | undefined {
  return elements(el).find((c) => c.ns === ns && c.local === local);
}

export function textOf(el: XmlElement): string {
  return el.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

export function escapeXml(s: string): string {
  return /[&<>"']/.test(s) ? s.replace(/[&<>"']/g, (c) => XML_ESCAPES[c] as string) : s;
}

/** Clark notation key of a property: `{ns}local`. */
export const propKey = (ns: string, local: string): string => `{${ns}}${local}`;

export function splitPropKey(key: string): { ns: string; local: string } {
  const m = /^\{([^}]*)\}(.+)$/.exec(key);
  return m ? { ns: m[1] as string, local: m[2] as string } : { ns: '', local: key };
}

/**
 * Serializes the children of a property element so they stand alone: every element whose namespace
 * differs from its parent's declares it as the default namespace, namespaced attributes get their own
 * prefixes. The result reads back with the same names wherever it is placed.
 */
export function serializeChildren(el: XmlElement, defaultNs = ''): string {
  return el.children.map((c) => (typeof c === 'string' ? escapeXml(c) : serializeElement(c, defaultNs))).join('');
}

function serializeElement(el: XmlElement, defaultNs: string): string {
  let open = el.local;
  if (el.ns !== defaultNs) open += ` xmlns="${escapeXml(el.ns)}"`;
  let i = 0;
  for (const [k, v] of el.attrs) {
    const { ns, local } = k.startsWith('{') ? splitPropKey(k) : { ns: '', local: k };
    if (ns === '') open += ` ${local}="${escapeXml(v)}"`;
    else {
      const p = `a${i++}`;
      open += ` xmlns:${p}="${escapeXml(ns)}" ${p}:${local}="${escapeXml(v)}"`;
    }
  }
  if (el.children.length === 0) return `<${open}/>`;
  return `<${open}>${serializeChildren(el, el.ns)}</${el.local}>`;
}

/** One property element for a response: `<p:local xmlns:p="ns">value</p:local>` (value already XML). */
export function propElement(ns: string, local: string, valueXml: string | null): string {
  if (ns === DAV) return valueXml === null || valueXml === '' ? `<D:${local}/>` : `<D:${local}>${valueXml}</D:${local}>`;
  const open = ns === '' ? `${local} xmlns=""` : `P:${local} xmlns:P="${escapeXml(ns)}"`;
  const close = ns === '' ? local : `P:${local}`;
  return valueXml === null || valueXml === '' ? `<${open}/>` : `<${open}>${valueXml}</${close}>`;
}
