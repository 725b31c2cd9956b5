// Stand-in for the `electron` module under Vitest. Tests that need specific behaviour
// (safeStorage, dialogs) replace these with vi.mock in the test itself.
export const app = {
  getPath: (name: string): string => `/tmp/coffer-mock-${name}`,
  isPackaged: false,
};
export const safeStorage = {
  isEncryptionAvailable: (): boolean => false,
  getSelectedStorageBackend: (): string => 'basic_text',
};
export const ipcMain = { handle: (): void => undefined, removeHandler: (): void => undefined };
export const ipcRenderer = {};
export const contextBridge = { exposeInMainWorld: (): void => undefined };
export default { app, safeStorage, ipcMain, ipcRenderer, contextBridge };
