import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface Vector {
  name: string;
  meta: Record<string, string>;
  file: Buffer;
}

export const VECTOR_DIR = path.join(__dirname, '../vectors/format');

/** Reads every frozen format vector: "key: value" lines, a blank line, then the file's bytes. */
export function loadVectors(): Vector[] {
  return readdirSync(VECTOR_DIR).filter((f) => f.endsWith('.vec')).sort().map((f) => {
    const raw = readFileSync(path.join(VECTOR_DIR, f));
    const split = raw.indexOf('\n\n');
    const meta: Record<string, string> = {};
    for (const line of raw.subarray(0, split).toString('utf8').split('\n')) {
      const i = line.indexOf(': ');
      meta[line.slice(0, i)] = line.slice(i + 2);
    }
    return { name: f.replace(/\.vec$/, ''), meta, file: raw.subarray(split + 2) };
  });
}
