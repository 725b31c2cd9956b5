/**
 * Names across platforms (issue 11 item 14, docs/FORMAT.md §6.13): NFC storage and lookups, and
 * names Windows or a case-insensitive file system cannot hold kept in the vault and marked on export.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ID_RE, exportNames, folderNameFor, newId, normalizeName, windowsProblem, windowsSafeName } from '../../../main/core/vault/names';
import { newVault, sandbox, type Sandbox } from './helpers';

let sb: Sandbox | null = null;
afterEach(() => {
  sb?.cleanup();
  sb = null;
});

describe('exportNames', () => {
  it('keeps everything as is on Linux (case-sensitive, any name)', () => {
    const names = ['CON', 'a:b', 'trail.', 'Report.txt', 'report.txt'];
    expect(exportNames(names, 'linux').map((x) => x.written)).toEqual(names);
    expect(exportNames(names, 'linux').every((x) => x.reason === null)).toBe(true);
  });

  it('on Windows: reserved names, bad characters and trailing dots/spaces are changed visibly', () => {
    const out = exportNames(['CON', 'con.txt', 'LPT9', 'a:b', 'why?', 'trail.', 'space ', 'ok.txt', 'COM10'], 'win32');
    expect(out.map((x) => x.written)).toEqual(['CON_', 'con_.txt', 'LPT9_', 'a_b', 'why_', 'trail_', 'space_', 'ok.txt', 'COM10']);
    expect(out.map((x) => x.reason)).toEqual(['windows-invalid', 'windows-invalid', 'windows-invalid', 'windows-invalid',
      'windows-invalid', 'windows-invalid', 'windows-invalid', null, null]);
    expect(windowsProblem('CON')).toMatch(/reserved/);
    expect(windowsProblem('ok.txt')).toBeNull();
  });

  it('case-only twins on Windows and macOS: the later one gets " (2)"; unchanged names win over changed ones', () => {
    for (const platform of ['win32', 'darwin'] as const) {
      const out = exportNames(['report.txt', 'Report.txt', 'REPORT.TXT'], platform);
      // Ties go by code point order: upper case first.
      expect(out.map((x) => x.written)).toEqual(['report (3).txt', 'Report (2).txt', 'REPORT.TXT']);
      expect(out.map((x) => x.reason)).toEqual(['case-collision', 'case-collision', null]);
    }
    // "a:b" becomes "a_b", which an existing "a_b" already holds: the changed one yields.
    expect(exportNames(['a:b', 'a_b'], 'win32').map((x) => x.written)).toEqual(['a_b (2)', 'a_b']);
  });

  it('property: written names are unique (case-folded where the platform folds case) and valid on Windows', () => {
    const name = fc.stringMatching(/^[A-Za-z:.?*< ]{1,6}$/);
    fc.assert(fc.property(fc.uniqueArray(name, { maxLength: 12 }), (names) => {
      for (const platform of ['win32', 'darwin', 'linux'] as const) {
        const out = exportNames(names, platform);
        const fold = (s: string): string => (platform === 'linux' ? s : s.toLowerCase());
        expect(new Set(out.map((x) => fold(x.written))).size).toBe(names.length);
        if (platform === 'win32') for (const x of out) expect(windowsProblem(x.written)).toBeNull();
        if (platform === 'linux') expect(out.map((x) => x.written)).toEqual(names);
      }
    }));
  });

  it('windowsSafeName and folderNameFor never produce a path separator or a dot-only name', () => {
    expect(windowsSafeName('a\\b')).toBe('a_b');
    expect(folderNameFor('../x')).toBe('.._x');
    expect(folderNameFor('..')).toBe('vault');
    expect(folderNameFor(' ')).toBe('vault');
    expect(normalizeName('Cafe\u0301')).toBe('Caf\u00e9');
  });
});

describe('Vault.get with names another platform cannot hold', () => {
  it('a vault holding CON, a:b, "trail." and case twins exports all of them to "Windows", marked', async () => {
    sb = sandbox();
    const { vault } = await newVault(sb);
    const src = path.join(sb.base, 'src');
    mkdirSync(src);
    const names = ['CON', 'a:b', 'trail.', 'Report.txt', 'report.txt'];
    for (const n of names) writeFileSync(path.join(src, n), `content of ${n}\n`);
    await vault.add(names.map((n) => path.join(src, n)), 'docs');
    expect(vault.list('docs').map((e) => e.name).sort()).toEqual([...names].sort());
    const out = path.join(sb.base, 'out');
    const r = await vault.get('/', out, { platform: 'win32' });
    expect(r.files).toBe(5);
    const written = readdirSync(path.join(out, 'docs')).sort();
    expect(written).toEqual(['CON_', 'Report.txt', 'a_b', 'report (2).txt', 'trail_'].sort());
    // Each one holds its own content: nothing merged, nothing lost.
    expect(readFileSync(path.join(out, 'docs', 'a_b'), 'utf8')).toBe('content of a:b\n');
    expect(readFileSync(path.join(out, 'docs', 'report (2).txt'), 'utf8')).toBe('content of report.txt\n');
    expect(r.renamed.map((x) => [x.path, x.written, x.reason]).sort()).toEqual([
      ['docs/CON', 'CON_', 'windows-invalid'], ['docs/a:b', 'a_b', 'windows-invalid'],
      ['docs/report.txt', 'report (2).txt', 'case-collision'], ['docs/trail.', 'trail_', 'windows-invalid'],
    ].sort());
    vault.lock();
  });

  it('names added in NFD are stored and found in NFC; the NFD spelling finds them', async () => {
    sb = sandbox();
    const { vault } = await newVault(sb);
    const src = path.join(sb.base, 'src');
    mkdirSync(src);
    writeFileSync(path.join(src, 'r\u00e9sum\u00e9.txt'.normalize('NFD')), 'x');
    await vault.add([path.join(src, 'r\u00e9sum\u00e9.txt'.normalize('NFD'))], 'Cafe\u0301');
    expect(vault.list('', { recursive: true }).map((e) => e.path)).toEqual(['Caf\u00e9', 'Caf\u00e9/r\u00e9sum\u00e9.txt']);
    expect(vault.stat('Cafe\u0301/re\u0301sume\u0301.txt')?.name).toBe('r\u00e9sum\u00e9.txt');
    expect(vault.stat('Caf\u00e9/r\u00e9sum\u00e9.txt')?.size).toBe(1);
    vault.lock();
  });
});

describe('newId', () => {
  it('gives well-formed, distinct ids across refills of its pool (256 ids each)', () => {
    const ids = Array.from({ length: 1000 }, () => newId());
    expect(ids.every((id) => ID_RE.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
