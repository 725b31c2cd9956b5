/**
 * The Electron bootstrap (main process). Kept thin: a hardened window, IPC registration,
 * native dialogs and safeStorage. Everything of value lives in main/services and main/core.
 */
import { app, BrowserWindow, clipboard, dialog, ipcMain, Menu, nativeImage, safeStorage, session, shell, webContents, type MenuItemConstructorOptions, type NativeImage, type WebContents } from 'electron';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createServices, type AppServices } from './services';
import { DOC_URLS, isAllowedExternalUrl } from './services/links';
import { CSP } from './services/csp';
import { createHandlers } from './ipc';
import { createDispatch, createDropHandler, createEventSink, ourWindowOnly, registerIpc, type EventSink } from './ipc/router';
import { DROPPED_PATH_CHANNEL } from '../preload/contract';

/** Content Security Policy for every response the window loads (also set as a <meta> in index.html). */
export { CSP };

const rendererDir = path.join(__dirname, '..', 'renderer');
const rendererIndex = path.join(rendererDir, 'index.html');
const rendererUrlPrefix = pathToFileURL(rendererDir + path.sep).toString();
const preloadPath = path.join(__dirname, '..', 'preload', 'preload.js');

let mainWindow: BrowserWindow | null = null;

/** A small document icon (32×32 PNG) for OS drags; it must be non-empty on macOS. */
const DRAG_ICON_PNG = 'iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAYAAABzenr0AAAAQElEQVR4nGNgGAU4gH7+vf/UxGQ54MWbz1TBow4YdcCoA0YdMOqAUQeMOmDUAaMOGHXAqANGHTB0HTCgXbMRAwD3hsqWmfMkKwAAAABJRU5ErkJggg==';
function dragIcon(): NativeImage {
  return nativeImage.createFromBuffer(Buffer.from(DRAG_ICON_PNG, 'base64'));
}
let services: AppServices | null = null;
let send: EventSink | null = null;

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1180,
    height: 780,
    minWidth: 820,
    minHeight: 560,
    show: false,
    title: 'Coffer',
    backgroundColor: '#1b1d21',
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
    },
  });
  win.once('ready-to-show', () => win.show());
  void win.loadFile(rendererIndex);
  return win;
}

/** No navigation away from our page, no new windows, no <webview>: only documentation links go to the browser. */
function hardenContents(contents: WebContents): void {
  contents.on('will-navigate', (event, url) => {
    if (url !== contents.getURL()) event.preventDefault();
  });
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (isAllowedExternalUrl(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
}

function hardenSession(): void {
  const ses = session.defaultSession;
  // Every permission is refused, except writing text to the clipboard from our own page ("Copy recipient").
  const ours = (url: string | undefined): boolean => !!url && url.startsWith(rendererUrlPrefix);
  ses.setPermissionRequestHandler((wc, permission, callback) => callback(permission === 'clipboard-sanitized-write' && ours(wc.getURL())));
  ses.setPermissionCheckHandler((_wc, permission, origin, details) => permission === 'clipboard-sanitized-write' && (ours(details.requestingUrl) || ours(origin)));
  ses.setDevicePermissionHandler(() => false);
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  // The renderer loads only local files; refuse any network request it might attempt.
  ses.webRequest.onBeforeRequest((details, callback) => {
    const ok = details.url.startsWith('file://') || details.url.startsWith('devtools://') || details.url.startsWith('data:');
    callback({ cancel: !ok });
  });
}

function buildMenu(): void {
  const isMac = process.platform === 'darwin';
  const lockAll = (): void => void services?.vaults.lockAll('manual');
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        { label: 'Lock all vaults', accelerator: 'CmdOrCtrl+L', click: lockAll },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [{ role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { type: 'separator' }, { role: 'togglefullscreen' }, ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }])],
    },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [{ label: 'Coffer on GitHub', click: () => void shell.openExternal(DOC_URLS[0] as string) }],
    },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

async function setupServices(): Promise<void> {
  services = await createServices({
    dataDir: app.getPath('userData'),
    safeStorage,
    platform: process.platform,
    version: app.getVersion(),
    emit: (channel, payload) => send?.(channel, payload),
    openPath: (p) => shell.openPath(p),
    startDrag: (webContentsId, file) => {
      const wc = webContents.fromId(webContentsId);
      if (wc && !wc.isDestroyed()) wc.startDrag({ file, icon: dragIcon() });
    },
    dialogs: {
      async pickFolder(title) {
        const r = await dialog.showOpenDialog(mainWindow ?? new BrowserWindow({ show: false }), { title, properties: ['openDirectory', 'createDirectory'] });
        return r.canceled ? null : (r.filePaths[0] ?? null);
      },
      async pickFiles(title, folders) {
        const r = await dialog.showOpenDialog(mainWindow ?? new BrowserWindow({ show: false }), { title, properties: [folders ? 'openDirectory' : 'openFile', 'multiSelections'] });
        return r.canceled ? [] : r.filePaths;
      },
      async pickModule(title) {
        const ext = process.platform === 'win32' ? ['dll'] : process.platform === 'darwin' ? ['dylib', 'so'] : ['so'];
        const r = await dialog.showOpenDialog(mainWindow ?? new BrowserWindow({ show: false }), { title, properties: ['openFile'], filters: [{ name: 'PKCS#11 module', extensions: ext }] });
        return r.canceled ? null : (r.filePaths[0] ?? null);
      },
      async saveFile(title, defaultName) {
        const r = await dialog.showSaveDialog(mainWindow ?? new BrowserWindow({ show: false }), { title, defaultPath: defaultName });
        return r.canceled ? null : (r.filePath ?? null);
      },
    },
    // "Copy password" of the drive: written by main, never through the window.
    drive: { clipboard: { write: async (t) => clipboard.writeText(t), read: async () => clipboard.readText() } },
  });
}

function setupIpc(): void {
  if (!services) throw new Error('services not ready');
  const isOurs = ourWindowOnly(() => mainWindow?.webContents.id ?? null, rendererUrlPrefix);
  const dispatch = createDispatch(createHandlers(services), isOurs);
  registerIpc(ipcMain, dispatch);
  const dialogs = services.dialogs;
  const dropped = createDropHandler(isOurs, (p) => dialogs.approveDropped(p));
  ipcMain.on(DROPPED_PATH_CHANNEL, (event, payload: unknown) => {
    dropped({ webContentsId: event.sender.id, frameUrl: event.senderFrame?.url ?? '', isMainFrame: event.senderFrame !== null && event.senderFrame.parent === null }, payload);
  });
  send = createEventSink((channel, payload) => {
    if (mainWindow && !mainWindow.isDestroyed()) mainWindow.webContents.send(channel, payload);
  });
}

function main(): void {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  app.on('second-instance', () => {
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
    }
  });
  app.on('web-contents-created', (_e, contents) => hardenContents(contents));
  app.enableSandbox();

  app.whenReady().then(async () => {
    hardenSession();
    buildMenu();
    await setupServices();
    setupIpc();
    mainWindow = createWindow();
    mainWindow.on('closed', () => (mainWindow = null));
    if (services) {
      const warning = services.storage.warning();
      if (warning) console.warn(`coffer: ${warning}`);
    }
  }).catch((e: unknown) => {
    dialog.showErrorBox('Coffer could not start', e instanceof Error ? e.message : String(e));
    app.exit(1);
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('activate', () => {
    if (!mainWindow && app.isReady()) mainWindow = createWindow();
  });

  let shuttingDown = false;
  app.on('will-quit', (event) => {
    if (shuttingDown || !services) return;
    shuttingDown = true;
    event.preventDefault();
    // Lock every vault (wipes keys, cancels jobs) and wipe the "Open" temp folder, then quit.
    void services.shutdown().finally(() => app.exit(0));
  });
}

main();
