import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PrivateTemp } from '../../main/services/tempfiles';

describe('PrivateTemp', () => {
  it('is private (0700), per vault, and wiped per vault and entirely', async () => {
    const t = new PrivateTemp(os.tmpdir());
    expect(statSync(t.root).mode & 0o777).toBe(0o700);
    const a = await t.pathFor('vault-a', 'report.pdf');
    const b = await t.pathFor('vault-b', '../../escape.txt');
    expect(path.basename(a)).toBe('report.pdf');
    expect(b.startsWith(t.root)).toBe(true);
    expect(path.basename(b)).toBe('escape.txt');
    writeFileSync(a, 'secret A');
    writeFileSync(b, 'secret B');
    expect(await t.wipeVault('vault-a')).toBe(1);
    expect(existsSync(a)).toBe(false);
    expect(readFileSync(b, 'utf8')).toBe('secret B');
    expect(await t.wipeAll()).toBe(1);
    expect(existsSync(b)).toBe(false);
    t.removeSync();
    expect(existsSync(t.root)).toBe(false);
  });
});
