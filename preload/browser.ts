/**
 * The browser shell's stand-in for the Electron preload (`coffer ui`): the same createApi over a
 * WebSocket to the server that served this page (main/web/server.ts), which runs every call
 * through the same router as Electron's IPC. Bundled by build/build.mjs into
 * dist/web/coffer-bridge.js and loaded before the renderer. What Electron did natively is done
 * here in browser terms: dropped files are uploaded (streamed, one PUT per file); export and
 * drag-out are downloads (files:exportDownload). The renderer sees the same window.coffer.
 */
import { createApi, type Transport, type UploadSpec } from './api';
import type { EventChannel } from './contract';

type Envelope = { ok: boolean };
const listeners = new Map<EventChannel, Set<(payload: unknown) => void>>();
const pending = new Map<number, (envelope: Envelope) => void>();
let nextId = 1;
let socket: WebSocket | null = null;
let opened: Promise<WebSocket> | null = null;

function connect(): Promise<WebSocket> {
  if (opened) return opened;
  opened = new Promise((resolve, reject) => {
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/bridge`);
    ws.onopen = () => {
      socket = ws;
      resolve(ws);
    };
    ws.onerror = () => reject(new Error('the connection to Coffer was refused (is `coffer ui` still running?)'));
    ws.onclose = () => {
      socket = null;
      opened = null;
      for (const [id, done] of pending) {
        pending.delete(id);
        done({ ok: false, error: { code: 'IO', message: 'the connection to Coffer closed (is `coffer ui` still running?)' } } as Envelope);
      }
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (typeof ev.data !== 'string') return;
      let msg: { t?: string; id?: number; envelope?: Envelope; channel?: EventChannel; payload?: unknown };
      try {
        msg = JSON.parse(ev.data) as typeof msg;
      } catch {
        return;
      }
      if (msg.t === 'reply' && typeof msg.id === 'number') {
        pending.get(msg.id)?.(msg.envelope as Envelope);
        pending.delete(msg.id);
      } else if (msg.t === 'event' && msg.channel) {
        for (const l of listeners.get(msg.channel) ?? []) l(msg.payload);
      }
    };
  });
  return opened;
}

interface Picked {
  spec: UploadSpec;
  file: File;
}

/** Reads a dropped folder through the File System entry API (all of it, in batches). */
function readTree(entry: FileSystemEntry, prefix: string, files: Promise<Picked>[], folders: string[]): Promise<void> {
  const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile) {
    files.push(new Promise((resolve, reject) => (entry as FileSystemFileEntry).file((f) => resolve({ spec: { path: rel, size: f.size }, file: f }), reject)));
    return Promise.resolve();
  }
  folders.push(rel);
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  return new Promise((resolve, reject) => {
    const batch = (): void =>
      reader.readEntries((entries) => {
        if (entries.length === 0) return resolve();
        Promise.all(entries.map((e) => readTree(e, rel, files, folders))).then(batch, reject);
      }, reject);
    batch();
  });
}

const transport: Transport = {
  async invoke(channel, request) {
    const ws = socket ?? (await connect());
    const id = nextId++;
    return new Promise((resolve) => {
      pending.set(id, resolve);
      ws.send(JSON.stringify({ t: 'call', id, channel, payload: request }));
    });
  },
  subscribe(channel, listener) {
    let set = listeners.get(channel);
    if (!set) listeners.set(channel, (set = new Set()));
    set.add(listener);
    void connect().catch(() => undefined);
    return () => {
      set.delete(listener);
    };
  },
  approveDroppedPath: () => undefined, // no paths in a browser: drops are uploads
  upload(data, start) {
    // Synchronously, while the drop event lasts: entries (folders) where the browser gives them, else plain files.
    const entries = Array.from(data.items ?? [])
      .map((i) => (i.kind === 'file' ? i.webkitGetAsEntry?.() ?? null : null))
      .filter((e): e is FileSystemEntry => e !== null);
    const plain = Array.from(data.files);
    return (async () => {
      const files: Promise<Picked>[] = [];
      const folders: string[] = [];
      // Files that carry their folder path (from a folder input) keep it; real folder drops come as entries.
      const relative = plain.some((f) => f.webkitRelativePath);
      if (!relative && entries.length > 0 && entries.length === plain.length) await Promise.all(entries.map((e) => readTree(e, '', files, folders)));
      else for (const f of plain) files.push(Promise.resolve({ spec: { path: f.webkitRelativePath || f.name, size: f.size }, file: f }));
      const picked = await Promise.all(files);
      if (picked.length === 0) throw { code: 'USAGE', message: 'nothing to add: drop files or folders with files in them' };
      const { jobId, uploadId } = await start(picked.map((p) => p.spec), folders);
      // Stream the files one after the other; the job shows progress and can be cancelled.
      void (async () => {
        for (let i = 0; i < picked.length; i++) {
          const r = await fetch(`/upload/${uploadId}/${i}`, { method: 'PUT', body: (picked[i] as Picked).file, credentials: 'same-origin' }).catch(() => null);
          if (!r || !r.ok) {
            if (r?.status !== 409) await transport.invoke('jobs:cancel', { jobId }).catch(() => undefined);
            return;
          }
        }
      })();
      return { jobId };
    })();
  },
};

const api = createApi(transport, () => '');
Object.defineProperty(window, 'coffer', { value: Object.freeze(api), writable: false });
void connect().catch(() => undefined);
