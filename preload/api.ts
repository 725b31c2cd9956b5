/**
 * Builds the `window.coffer` API from the contract over an injected transport. preload.ts wires
 * it to Electron's ipcRenderer; the E2E tests wire it through Playwright's exposeBinding into the
 * same main-process handlers. This module imports no electron and no Node.
 */
import { channels, events, validationError, type Channel, type Envelope, type ErrorInfo, type EventChannel, type EventOf, type RequestOf, type ResponseOf } from './contract';

export interface Transport {
  /** Sends one request; resolves with main's envelope. */
  invoke(channel: Channel, request: unknown): Promise<unknown>;
  /** Subscribes to one event channel; returns the function that removes exactly this listener. */
  subscribe(channel: EventChannel, listener: (payload: unknown) => void): () => void;
  /** Tells main a path came from a real drop (see DROPPED_PATH_CHANNEL). */
  approveDroppedPath(path: string): void;
  /**
   * Browser shell only: uploads what was dropped. Must read `data` synchronously (a DataTransfer
   * empties after the drop event); announces the files with `start` (files:uploadStart), then
   * streams them to main in the background.
   */
  upload?(data: DataTransfer, start: (files: UploadSpec[], folders: string[]) => Promise<{ jobId: string; uploadId: string }>): Promise<{ jobId: string }>;
}

/** One file of an upload: its path relative to the drop ("Reports/q1.txt") and its size. */
export interface UploadSpec {
  path: string;
  size: number;
}

/** What a failed call rejects with: the contract's `{code, message}` as a plain object. */
export type CofferErrorInfo = ErrorInfo;

function fail(error: ErrorInfo): Promise<never> {
  // A plain object survives contextBridge with its `code`; an Error would lose it.
  return Promise.reject({ code: error.code, message: error.message } satisfies ErrorInfo);
}

function isEnvelope(v: unknown): v is Envelope<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { ok?: unknown }).ok === 'boolean';
}

// Requests whose fields are all optional (or that have none) may be omitted.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
type Args<C extends Channel> = {} extends RequestOf<C> ? [request?: RequestOf<C>] : [request: RequestOf<C>];

export function createApi(transport: Transport, getPathForFile: (file: File) => string) {
  const call =
    <C extends Channel>(channel: C) =>
    async (...args: Args<C>): Promise<ResponseOf<C>> => {
      const spec = channels[channel];
      const req = spec.request.safeParse(args[0] ?? {});
      if (!req.success) return fail(validationError(channel, req.error));
      let reply: unknown;
      try {
        reply = await transport.invoke(channel, req.data);
      } catch (e) {
        return fail({ code: 'INTERNAL', message: `IPC failed on ${channel}: ${e instanceof Error ? e.message : String(e)}` });
      }
      if (!isEnvelope(reply)) return fail({ code: 'INTERNAL', message: `malformed reply on ${channel}` });
      if (!reply.ok) return fail(reply.error);
      const res = spec.response.safeParse(reply.value);
      if (!res.success) return fail(validationError(`${channel} reply`, res.error));
      return res.data as ResponseOf<C>;
    };

  const on =
    <E extends EventChannel>(channel: E) =>
    (listener: (payload: EventOf<E>) => void): (() => void) =>
      transport.subscribe(channel, (payload) => {
        const parsed = events[channel].safeParse(payload);
        if (parsed.success) listener(parsed.data as EventOf<E>);
      });

  return {
    app: { info: call('app:info') },
    vaults: {
      list: call('vaults:list'),
      create: call('vaults:create'),
      open: call('vaults:open'),
      forget: call('vaults:forget'),
      unlock: call('vaults:unlock'),
      lock: call('vaults:lock'),
      touch: call('vaults:touch'),
      checkFolder: call('vaults:checkFolder'),
    },
    files: {
      list: call('files:list'),
      add: call('files:add'),
      export: call('files:export'),
      /** Browser shell: a one-time URL that downloads the decrypted file (open it in the page). */
      exportDownload: call('files:exportDownload'),
      open: call('files:open'),
      dragOut: call('files:dragOut'),
      mkdir: call('files:mkdir'),
      move: call('files:move'),
      remove: call('files:remove'),
      resolveConflict: call('files:resolveConflict'),
      /**
       * Browser shell (app:info shell = "browser"): adds what was dropped on the window by
       * uploading it to main, as one add job. Call it synchronously inside the drop handler.
       */
      upload: (request: { vaultId: string; to: string; data: DataTransfer }): Promise<{ jobId: string }> => {
        if (!transport.upload) return fail({ code: 'USAGE', message: 'uploading is only for the browser window; drop files from a folder instead' });
        const start = call('files:uploadStart');
        return transport.upload(request.data, (files, folders) => start({ vaultId: request.vaultId, to: request.to, files, folders }));
      },
      /** The path on disk of a File dropped into the window ('' when it has none); main may then add it. */
      pathForFile: (file: File): string => {
        const p = getPathForFile(file);
        if (p) transport.approveDroppedPath(p);
        return p;
      },
    },
    drive: { status: call('drive:status'), mount: call('drive:mount'), unmount: call('drive:unmount'), show: call('drive:show'), copyPassword: call('drive:copyPassword') },
    edits: { list: call('edits:list'), save: call('edits:save'), discard: call('edits:discard') },
    versions: { list: call('versions:list'), restore: call('versions:restore'), export: call('versions:export') },
    trash: { list: call('trash:list'), restore: call('trash:restore'), empty: call('trash:empty'), setRetention: call('trash:setRetention') },
    admin: { passwd: call('admin:passwd'), grantTransit: call('admin:grantTransit'), verify: call('admin:verify') },
    jobs: { list: call('jobs:list'), cancel: call('jobs:cancel'), clearFinished: call('jobs:clearFinished') },
    members: {
      list: call('members:list'),
      grant: call('members:grant'),
      revoke: call('members:revoke'),
      rotate: call('members:rotate'),
      dismissRequest: call('members:dismissRequest'),
      requestAccess: call('members:requestAccess'),
    },
    identities: { list: call('identities:list'), create: call('identities:create'), remove: call('identities:remove') },
    hwkeys: { detect: call('hwkeys:detect'), enroll: call('hwkeys:enroll'), list: call('hwkeys:list'), remove: call('hwkeys:remove') },
    transit: { get: call('transit:get'), set: call('transit:set'), test: call('transit:test') },
    settings: { get: call('settings:get'), set: call('settings:set') },
    activity: { list: call('activity:list') },
    picker: { list: call('picker:list'), done: call('picker:done') },
    dialog: { pickFolder: call('dialog:pickFolder'), pickFiles: call('dialog:pickFiles'), saveFile: call('dialog:saveFile'), pickModule: call('dialog:pickModule') },
    on: {
      job: on('event:job'),
      vaultLocked: on('event:vaultLocked'),
      conflicts: on('event:conflicts'),
      accessRequests: on('event:accessRequests'),
      notice: on('event:notice'),
      picker: on('event:picker'),
      unsavedEdits: on('event:unsavedEdits'),
      drive: on('event:drive'),
    },
  };
}

export type CofferApi = ReturnType<typeof createApi>;
