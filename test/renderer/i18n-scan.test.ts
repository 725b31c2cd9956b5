/**
 * Issue 11 item 9: no user-visible string in renderer/ bypasses the catalogs. A small AST scan (the
 * TypeScript compiler's parser) of every renderer source finds words that would reach the screen
 * without t(): JSX text, the string attributes people read or hear (title, aria-label, placeholder,
 * alt, aria-valuetext, label), string literals that are a JSX child or a branch of one
 * ({cond ? 'Open' : 'Close'}), string literals handed to the screens' message setters
 * (setError('…'), setStatus('…'), …), and dialog titles ({ title: '…' }).
 * Words are runs of two or more letters; what is not language (the product name, units, symbols,
 * technical identifiers) is allowed by an explicit list below. The scan is checked against a
 * positive control: a component with each kind of bare string must be reported.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../../renderer');
const READ_ATTRIBUTES = new Set(['title', 'aria-label', 'placeholder', 'alt', 'aria-valuetext', 'label', 'aria-description']);
const MESSAGE_SETTERS = /^(set(Error|Status|Message|Result|FormError|RowError|Notice|LoadError|LockedMessage)|setError)$/;
/** Not language: the product's name, units and technical words shown as they are in every language. */
const ALLOWED = new Set(['Coffer', 'MB/s', 'kB', 'MB', 'GB', 'TB', 'PIN', 'PKCS#11', 'P-256', 'TLS', 'mTLS', 'coffer1…']);

export interface Finding {
  file: string;
  line: number;
  text: string;
  kind: string;
}

const hasWords = (s: string): boolean => /\p{L}{2,}/u.test(s);
/** A catalog key handed on to t() later (t's typed keys check it exists). */
const CATALOG_KEY = /^[a-z]+(\.[A-Za-z_-]+)+$/;
/** Allowed when every word in it is on the list (symbols and numbers around them are not language). */
const allowed = (s: string): boolean => CATALOG_KEY.test(s.trim()) || (s.match(/\p{L}[\p{L}\p{N}#/.…-]*/gu) ?? []).every((w) => ALLOWED.has(w) || !hasWords(w));

/** Bare strings in one source file (exported for the positive control below). */
export function scan(file: string, source: string): Finding[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const out: Finding[] = [];
  const report = (node: ts.Node, text: string, kind: string): void => {
    if (!hasWords(text) || allowed(text)) return;
    out.push({ file: path.basename(file), line: sf.getLineAndCharacterOfPosition(node.getStart()).line + 1, text: text.trim().slice(0, 80), kind });
  };
  /** String literals an expression may evaluate to directly (through ?:, ||, ??, parentheses). */
  const literals = (e: ts.Expression, kind: string): void => {
    if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) report(e, e.text, kind);
    else if (ts.isTemplateExpression(e)) report(e, [e.head.text, ...e.templateSpans.map((s) => s.literal.text)].join(' '), kind);
    else if (ts.isParenthesizedExpression(e)) literals(e.expression, kind);
    else if (ts.isConditionalExpression(e)) {
      literals(e.whenTrue, kind);
      literals(e.whenFalse, kind);
    } else if (ts.isBinaryExpression(e) && [ts.SyntaxKind.BarBarToken, ts.SyntaxKind.QuestionQuestionToken, ts.SyntaxKind.AmpersandAmpersandToken].includes(e.operatorToken.kind)) {
      literals(e.left, kind);
      literals(e.right, kind);
    }
  };
  /** String or template literals that read as words for people rather than identifiers. */
  const sentences = (e: ts.Expression): void => {
    const text = ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e) ? e.text : ts.isTemplateExpression(e) ? [e.head.text, ...e.templateSpans.map((s) => s.literal.text)].join(' ') : null;
    // A capitalised word (Downloading …), or two words with punctuation (no such file, try again.).
    if (text !== null && (/(^|\s)\p{Lu}\p{Ll}+/u.test(text) || (/\p{L}{2,}[\s,;:]+\p{L}{2,}/u.test(text) && /[.,;:!?…]/.test(text)))) report(e, text, 'argument');
    else if (ts.isConditionalExpression(e)) {
      sentences(e.whenTrue);
      sentences(e.whenFalse);
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isJsxText(node)) report(node, node.text, 'JSX text');
    else if (ts.isJsxAttribute(node) && READ_ATTRIBUTES.has(node.name.getText(sf)) && node.initializer) {
      const init = node.initializer;
      if (ts.isStringLiteral(init)) report(init, init.text, `${node.name.getText(sf)}=`);
      else if (ts.isJsxExpression(init) && init.expression) literals(init.expression, `${node.name.getText(sf)}=`);
    } else if (ts.isJsxExpression(node) && node.expression && !ts.isJsxAttribute(node.parent)) literals(node.expression, 'JSX child');
    else if (ts.isCallExpression(node) && MESSAGE_SETTERS.test(node.expression.getText(sf).split('.').pop() ?? '')) {
      for (const a of node.arguments) literals(a, 'message');
    } else if (ts.isPropertyAssignment(node) && ['title', 'text', 'message', 'label', 'hint'].includes(node.name.getText(sf))) literals(node.initializer, `${node.name.getText(sf)}:`);
    else if (ts.isCallExpression(node) && !/(^|\.)(t|exists|querySelector(All)?|getElementById|matchMedia|addEventListener|removeEventListener|setData|getData|createElement)$/.test(node.expression.getText(sf))) {
      // Any other call given a sentence (two or more words) as an argument: a message on its way to the screen.
      for (const a of node.arguments) sentences(a);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'locales' ? [] : sources(p);
    return /\.(tsx?|mts)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

describe('renderer strings go through the catalogs', () => {
  it('the scan reports each kind of bare string (positive control)', () => {
    const bad = `
      export function Bad({ ok }: { ok: boolean }) {
        const [, setError] = useState('');
        setError('Something went wrong');
        void run(() => work(), 'top', \`Downloading \${name}…\`);
        void coffer().dialog.pickFolder({ title: 'Choose a folder' });
        return (
          <div title="Hover text" aria-label={\`Delete \${name}\`}>
            Hello there
            <input placeholder="Type here" />
            {ok ? 'Open' : 'Closed'}
            <span>{t('fine.key')} ✕ … — 50% Coffer</span>
          </div>
        );
      }`;
    const found = scan('Bad.tsx', bad).map((f) => `${f.kind} ${f.text}`);
    expect(found).toEqual([
      'message Something went wrong',
      'argument Downloading  …',
      'title: Choose a folder',
      'title= Hover text',
      'aria-label= Delete',
      'JSX text Hello there',
      'placeholder= Type here',
      'JSX child Open',
      'JSX child Closed',
    ]);
  });

  it('errors are shown through errorText (the code\'s sentence in the window\'s language), never as main\'s bare message', () => {
    const bare = sources(ROOT).flatMap((f) => readFileSync(f, 'utf8').split('\n').map((l, i) => [f, i + 1, l] as const))
      .filter(([, , l]) => /errorOf\([^)]*\)\.message/.test(l))
      .map(([f, n]) => `${path.basename(f)}:${n}`);
    expect(bare).toEqual([]);
  });

  it('no renderer source has a user-visible string outside t()', () => {
    const files = sources(ROOT);
    expect(files.length).toBeGreaterThan(10);
    const findings = files.flatMap((f) => scan(f, readFileSync(f, 'utf8')));
    expect(findings.map((f) => `${f.file}:${f.line} ${f.kind} ${JSON.stringify(f.text)}`)).toEqual([]);
  });
});
