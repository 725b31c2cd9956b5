/**
 * The sandboxed preload: builds `window.coffer` from the contract over ipcRenderer and exposes it
 * with contextBridge. Bundled into ONE CommonJS file (only `electron` is required at run time).
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import { createApi, type Transport } from './api';
import { DROPPED_PATH_CHANNEL } from './contract';

const transport: Transport = {
  invoke: (channel, request) => ipcRenderer.invoke(channel, request),
  subscribe(channel, listener) {
    // The same function object is added and removed, so unsubscribing really removes it.
    const handler = (_event: IpcRendererEvent, payload: unknown): void => listener(payload);
    ipcRenderer.on(channel, handler);
    return () => {
      ipcRenderer.removeListener(channel, handler);
    };
  },
  approveDroppedPath: (path) => ipcRenderer.send(DROPPED_PATH_CHANNEL, { path }),
};

export const api = createApi(transport, (file) => webUtils.getPathForFile(file));
export type CofferApi = typeof api;

contextBridge.exposeInMainWorld('coffer', api);
