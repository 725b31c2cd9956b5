/**
 * The IPC router: one handler per contract channel. Every call goes through the same steps:
 * 1. the sender must be our own window (checked per call, not per window);
 * 2. the request is validated with the channel's zod schema;
 * 3. the handler runs; its result is parsed through the response schema (unknown keys stripped);
 * 4. any error becomes `{code, message}` (toErrorInfo); stack traces never cross.
 */
import { toErrorInfo } from '../core/errors';
import { channels, DroppedPath, events, isChannel, validationError, type Channel, type Envelope, type EventChannel, type EventOf, type ParsedRequestOf, type ResponseOf } from '../../preload/contract';

/** Who sent a message: the webContents id and the URL of the frame that sent it. */
export interface SenderInfo {
  readonly webContentsId: number;
  readonly frameUrl: string;
  /** False for messages from a sub-frame. */
  readonly isMainFrame: boolean;
}

export type Handler<C extends Channel> = (request: ParsedRequestOf<C>, sender: SenderInfo) => Promise<ResponseOf<C>> | ResponseOf<C>;
export type Handlers = { [C in Channel]: Handler<C> };
export type PartialHandlers = { [C in Channel]?: Handler<C> };

export type SenderCheck = (sender: SenderInfo) => boolean;

export type Dispatch = (channel: string, payload: unknown, sender: SenderInfo) => Promise<Envelope<unknown>>;

export interface DispatchHooks {
  /** Sees every message that crosses, in both directions (tests use it to audit them). */
  onMessage?: (direction: 'request' | 'response', channel: string, payload: unknown) => void;
}

export function createDispatch(handlers: Handlers, isOurs: SenderCheck, hooks: DispatchHooks = {}): Dispatch {
  return async (channel, payload, sender) => {
    hooks.onMessage?.('request', channel, payload);
    const reply = await dispatchOne(handlers, isOurs, channel, payload, sender);
    hooks.onMessage?.('response', channel, reply);
    return reply;
  };
}

async function dispatchOne(handlers: Handlers, isOurs: SenderCheck, channel: string, payload: unknown, sender: SenderInfo): Promise<Envelope<unknown>> {
  if (!isOurs(sender)) return { ok: false, error: { code: 'USAGE', message: 'refused: the message did not come from a Coffer window' } };
  if (!isChannel(channel)) return { ok: false, error: { code: 'USAGE', message: `unknown channel ${channel}` } };
  const spec = channels[channel];
  const req = spec.request.safeParse(payload ?? {});
  if (!req.success) return { ok: false, error: validationError(channel, req.error) };
  try {
    const handler = handlers[channel] as Handler<Channel>;
    const value = await handler(req.data as never, sender);
    const res = spec.response.safeParse(value);
    if (!res.success) return { ok: false, error: { code: 'INTERNAL', message: `${channel}: the reply did not match the contract` } };
    return { ok: true, value: res.data };
  } catch (e) {
    return { ok: false, error: toErrorInfo(e) };
  }
}

/** Sends events through their schema; `send` is webContents.send in the app, a page call in E2E. */
export type EventSink = <E extends EventChannel>(channel: E, payload: EventOf<E>) => void;

export function createEventSink(send: (channel: EventChannel, payload: unknown) => void, hooks: DispatchHooks = {}): EventSink {
  return (channel, payload) => {
    const parsed = events[channel].safeParse(payload);
    if (!parsed.success) return;
    hooks.onMessage?.('response', channel, parsed.data);
    send(channel, parsed.data);
  };
}

/** The minimal part of Electron's ipcMain the router needs (so tests can pass a stand-in). */
export interface IpcMainLike {
  handle(channel: string, listener: (event: { sender: { id: number }; senderFrame: { url: string; parent: unknown } | null }, payload: unknown) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}

/** Registers every contract channel on ipcMain; returns a function that removes them all. */
export function registerIpc(ipcMain: IpcMainLike, dispatch: Dispatch): () => void {
  const names = Object.keys(channels);
  for (const name of names) {
    ipcMain.handle(name, (event, payload) =>
      dispatch(name, payload, {
        webContentsId: event.sender.id,
        frameUrl: event.senderFrame?.url ?? '',
        isMainFrame: event.senderFrame !== null && event.senderFrame.parent === null,
      }),
    );
  }
  return () => names.forEach((n) => ipcMain.removeHandler(n));
}

/**
 * The sender check used by the app: the message must come from the main frame of our one
 * window, showing our own renderer page (file:// URL under dist/renderer).
 */
export function ourWindowOnly(getWindowId: () => number | null, rendererUrlPrefix: string): SenderCheck {
  return (s) => {
    const id = getWindowId();
    return id !== null && s.webContentsId === id && s.isMainFrame && s.frameUrl.startsWith(rendererUrlPrefix);
  };
}

/**
 * The one-way "this path was dropped" message from the preload (DROPPED_PATH_CHANNEL): accepted
 * only from our window, validated, then recorded as approved for one add.
 */
export function createDropHandler(isOurs: SenderCheck, approve: (path: string) => void): (sender: SenderInfo, payload: unknown) => void {
  return (sender, payload) => {
    if (!isOurs(sender)) return;
    const p = DroppedPath.safeParse(payload);
    if (p.success) approve(p.data.path);
  };
}
