/**
 * The activity log: what happened, to which vault, and whether it worked. Appended to
 * activity.jsonl in the app's data folder; holds names and counts only, never keys or contents.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { ActivityEntry } from '../../preload/contract';

const KEEP = 5000;

export class ActivityLog {
  private entries: ActivityEntry[] = [];
  private writing: Promise<void> = Promise.resolve();
  private constructor(private readonly file: string, private readonly now: () => number) {}

  static async load(dataDir: string, now: () => number = Date.now): Promise<ActivityLog> {
    const log = new ActivityLog(path.join(dataDir, 'activity.jsonl'), now);
    try {
      const text = await fsp.readFile(log.file, 'utf8');
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        try {
          log.entries.push(JSON.parse(line) as ActivityEntry);
        } catch {
          /* a torn last line after a crash is skipped */
        }
      }
      log.entries = log.entries.slice(-KEEP);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    return log;
  }

  add(e: Omit<ActivityEntry, 'time'>): void {
    const entry: ActivityEntry = { time: this.now(), ...e };
    this.entries.push(entry);
    if (this.entries.length > KEEP) this.entries.shift();
    const line = `${JSON.stringify(entry)}\n`;
    this.writing = this.writing
      .then(() => fsp.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 }))
      .then(() => fsp.appendFile(this.file, line, { mode: 0o600 }))
      .catch(() => undefined);
  }

  /** Newest first. */
  list(limit = 500): ActivityEntry[] {
    return this.entries.slice(-limit).reverse();
  }

  flush(): Promise<void> {
    return this.writing;
  }
}
