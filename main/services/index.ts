/**
 * The app's state, assembled. Electron is passed in (safeStorage, shell.openPath, dialogs), never
 * imported here, so the same services run under Vitest and in the E2E tests' Node process.
 */
import { initSodium } from '../core/crypto/sodium';
import type { AppInfo, EventChannel, EventOf } from '../../preload/contract';
import { ActivityLog } from './activity';
import { approvingDialogs, type ApprovingDialogs, type Dialogs } from './dialogs';
import { coreTransit } from './core-transit';
import { coreVault } from './core-vault';
import { DriveService, toolClipboard, type Clipboard } from './drive';
import { spawnRunner, type Runner } from './mount';
import { HardwareKeyService } from './hwkeys';
import { IdentityService } from './identities';
import { JobManager } from './jobs';
import { SecureStorage, type SafeStorageLike } from './secure-storage';
import { SettingsService } from './settings';
import { hasUnsavedEdits, SaveBack } from './saveback';
import { PrivateTemp } from './tempfiles';
import type { PickerService } from './picker';
import { UploadService } from './uploads';
import { TransitService, type TransitPort } from './transit';
import type { VaultCore } from './vault-port';
import { VaultService, type DownloadOffer } from './vaults';

export type { DownloadOffer } from './vaults';

export type { Dialogs } from './dialogs';

export interface ServiceDeps {
  dataDir: string;
  safeStorage: SafeStorageLike;
  platform: NodeJS.Platform;
  version: string;
  emit: <E extends EventChannel>(channel: E, payload: EventOf<E>) => void;
  openPath: (p: string) => Promise<string>;
  startDrag?: (webContentsId: number, file: string) => void;
  /** Browser shell: one-time download URLs for export and drag-out (see VaultServiceDeps). */
  offerDownload?: (webContentsId: number, d: DownloadOffer) => string;
  dialogs: Dialogs;
  /** Where the private "Open" folder goes (default: the OS temp folder). */
  tempBase?: string;
  env?: NodeJS.ProcessEnv;
  /** Client state (highest epoch seen per vault); default dataDir/state. */
  stateDir?: string;
  jobConcurrency?: number;
  /** How often unlocked vaults are re-read for changes from other members (default 15 s). */
  pollMs?: number;
  /** Which shell runs the services (the renderer's one capability flag; default electron). */
  shell?: 'electron' | 'browser';
  /** The in-app picker, for a shell without native dialogs (its dialogs() are then `dialogs`). */
  picker?: PickerService;
  /** Save-back timing and this computer's name in conflict copies (tests). */
  saveback?: { debounceMs?: number; pollMs?: number; hostName?: string };
  /**
   * "Mount as drive": how commands run (tests pass a fake) and the clipboard "Copy password" writes
   * to (Electron's in the app; default: the platform's tools, wl-copy/xclip/xsel, pbcopy, clip).
   */
  drive?: { run?: Runner; clipboard?: Clipboard | null; clipboardClearMs?: number };
  /** Overrides for tests. */
  core?: VaultCore;
  transitPort?: TransitPort;
}

export interface AppServices {
  info(): AppInfo;
  storage: SecureStorage;
  settings: SettingsService;
  activity: ActivityLog;
  jobs: JobManager;
  identities: IdentityService;
  hwkeys: HardwareKeyService;
  transit: TransitService;
  vaults: VaultService;
  temp: PrivateTemp;
  saveback: SaveBack;
  dialogs: ApprovingDialogs;
  /** The in-app picker (browser shell), or null where dialogs are native. */
  picker: PickerService | null;
  /** Browser shell: files uploaded from the window, added to a vault as they complete. */
  uploads: UploadService;
  /** "Mount as drive": each unlocked vault's WebDAV server and its system mount. */
  drive: DriveService;
  /** Locks every vault (keys wiped, jobs cancelled) and wipes the "Open" folder. */
  shutdown(): Promise<void>;
}

export async function createServices(deps: ServiceDeps): Promise<AppServices> {
  await initSodium();
  const env = deps.env ?? process.env;
  const storage = new SecureStorage(deps.safeStorage, deps.platform);
  const settings = await SettingsService.load(deps.dataDir);
  const activity = await ActivityLog.load(deps.dataDir);
  const jobs = new JobManager((job) => deps.emit('event:job', job), { concurrency: deps.jobConcurrency });
  const identities = await IdentityService.load(deps.dataDir, storage);
  const notify = (n: { kind: 'touch' | 'contacting' | 'info'; message: string }): void => deps.emit('event:notice', n);
  const hwkeys = await HardwareKeyService.load(deps.dataDir, () => settings.get().pkcs11Module, notify, env, deps.platform);
  settings.validate = (next) => hwkeys.checkModule(next.pkcs11Module);
  const transit = await TransitService.load(deps.dataDir, storage, deps.transitPort ?? coreTransit(notify, env));
  await transit.activate().catch(() => undefined); // a missing secret is reported when Transit is used
  const temp = new PrivateTemp(deps.tempBase);
  let vaultsRef: VaultService | null = null;
  const saveback = new SaveBack({
    temp,
    activity,
    emit: deps.emit,
    vault: (id) => vaultsRef?.openVault(id) ?? null,
    touch: (id) => vaultsRef?.touch(id),
    ...deps.saveback,
  });
  // "Open" copies a crashed earlier run left behind: those edited after they were last saved are
  // offered to the person (save back or discard); only then is the rest wiped, sparing those.
  const stale = await PrivateTemp.staleRoots(deps.tempBase);
  await saveback.recover(stale.map((r) => r.dir)).catch(() => 0);
  const swept = await PrivateTemp.sweepStale(deps.tempBase, Date.now, hasUnsavedEdits);
  if (swept.folders > 0) activity.add({ vaultId: null, vaultName: null, action: 'startup clean-up', detail: `wiped ${swept.files} opened file${swept.files === 1 ? '' : 's'} an earlier run left in the temp folder`, ok: true });
  const run = deps.drive?.run ?? spawnRunner();
  const drive = new DriveService({
    platform: deps.platform,
    run,
    clipboard: deps.drive?.clipboard === undefined ? toolClipboard(deps.platform, env, run) : deps.drive.clipboard,
    vault: (id) => vaultsRef?.openVault(id) ?? null,
    touch: (id) => vaultsRef?.touch(id),
    activity,
    emit: deps.emit,
    ...(deps.drive?.clipboardClearMs !== undefined ? { clipboardClearMs: deps.drive.clipboardClearMs } : {}),
  });
  const dialogs = approvingDialogs(deps.dialogs);
  dialogs.onModulePicked((file) => void hwkeys.rememberPicked(file).catch(() => undefined));
  const vaults = await VaultService.load({
    dataDir: deps.dataDir,
    core: deps.core ?? coreVault(deps.stateDir ?? `${deps.dataDir}/state`),
    settings,
    identities,
    hwkeys,
    transit,
    jobs,
    temp,
    activity,
    emit: deps.emit,
    openPath: deps.openPath,
    dialogs,
    ...(deps.startDrag ? { startDrag: deps.startDrag } : {}),
    ...(deps.offerDownload ? { offerDownload: deps.offerDownload } : {}),
    ...(deps.pollMs ? { pollMs: deps.pollMs } : {}),
    saveback,
    drive,
  });
  const uploads = new UploadService(vaults);
  vaultsRef = vaults;
  return {
    info: () => ({ version: deps.version, platform: deps.platform, storageBackend: storage.backend(), storageWarning: storage.warning(), shell: deps.shell ?? 'electron' }),
    storage,
    settings,
    activity,
    jobs,
    identities,
    hwkeys,
    transit,
    vaults,
    temp,
    saveback,
    dialogs,
    picker: deps.picker ?? null,
    uploads,
    drive,
    async shutdown() {
      uploads.cancelAll();
      // Locking saves pending edits first; copies that could not be saved are kept for the next start.
      await vaults.lockAll('exit');
      await jobs.cancelAll();
      saveback.stop();
      const keep = saveback.keptPaths();
      await temp.wipeAll(keep).catch(() => undefined);
      temp.removeSync(keep);
      await activity.flush();
    },
  };
}
