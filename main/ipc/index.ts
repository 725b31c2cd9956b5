/**
 * All IPC handlers, one per contract channel, grouped by feature. Each setupX() returns the
 * handlers of one feature; createHandlers() must cover every channel (the type checks that).
 * Sender checks, validation and error mapping happen in router.ts for every call.
 */
import { CofferError } from '../core/errors';
import type { AppServices } from '../services';
import { checkNewVaultFolder } from '../services/folder-check';
import type { PickerService } from '../services/picker';
import type { Handler, Handlers } from './router';
import type { Channel } from '../../preload/contract';

type Group<K extends Channel> = { [C in K]: Handler<C> };

const ok = { ok: true } as const;

function picker(s: AppServices): PickerService {
  if (!s.picker) throw new CofferError('USAGE', 'this window uses the system dialogs; there is no in-app picker');
  return s.picker;
}

export function setupApp(s: AppServices): Group<'app:info' | 'settings:get' | 'settings:set' | 'activity:list'> {
  return {
    'app:info': () => s.info(),
    'settings:get': () => s.settings.get(),
    'settings:set': (req) => s.settings.set(req),
    'activity:list': (req) => s.activity.list(req.limit ?? 500),
  };
}

export function setupVaults(s: AppServices): Group<'vaults:list' | 'vaults:create' | 'vaults:open' | 'vaults:forget' | 'vaults:unlock' | 'vaults:lock' | 'vaults:touch'> {
  return {
    'vaults:list': () => s.vaults.list(),
    'vaults:create': (req) => s.vaults.create(req),
    'vaults:open': (req) => s.vaults.open(req.dir),
    'vaults:forget': async (req) => (await s.vaults.forget(req.vaultId), ok),
    'vaults:unlock': (req) => s.vaults.unlock(req.vaultId, req.method),
    'vaults:lock': async (req) => (await s.vaults.lock(req.vaultId, 'manual'), ok),
    'vaults:touch': (req) => (s.vaults.touch(req.vaultId), ok),
  };
}

export function setupFiles(s: AppServices): Group<'files:list' | 'files:add' | 'files:uploadStart' | 'files:export' | 'files:exportDownload' | 'files:open' | 'files:dragOut' | 'files:mkdir' | 'files:move' | 'files:remove' | 'files:resolveConflict'> {
  return {
    'files:list': (req) => s.vaults.listFiles(req.vaultId, req.path),
    'files:add': (req) => ({ jobId: s.vaults.addFiles(req.vaultId, req.sources, req.to) }),
    'files:uploadStart': (req) => s.uploads.start(req.vaultId, req.to, req.files, req.folders),
    'files:export': (req) => ({ jobId: s.vaults.exportFile(req.vaultId, req.path, req.dest) }),
    'files:exportDownload': (req, sender) => s.vaults.exportDownload(req.vaultId, req.path, sender.webContentsId, req.version),
    'files:open': (req) => ({ jobId: s.vaults.openFile(req.vaultId, req.path) }),
    'files:dragOut': async (req, sender) => (await s.vaults.dragOut(req.vaultId, req.path, sender.webContentsId), ok),
    'files:mkdir': async (req) => (await s.vaults.mkdir(req.vaultId, req.path), ok),
    'files:move': async (req) => (await s.vaults.move(req.vaultId, req.from, req.to), ok),
    'files:remove': async (req) => ({ ok: true as const, trashId: await s.vaults.remove(req.vaultId, req.path, req.recursive) }),
    'files:resolveConflict': async (req) => (await s.vaults.resolveConflict(req.vaultId, req.path, req.keep), ok),
  };
}

/** Versions and trash (issue 10 part 3). */
export function setupVersions(s: AppServices): Group<'versions:list' | 'versions:restore' | 'versions:export' | 'trash:list' | 'trash:restore' | 'trash:empty' | 'trash:setRetention'> {
  return {
    'versions:list': (req) => s.vaults.versions(req.vaultId, req.path),
    'versions:restore': (req) => s.vaults.restoreVersion(req.vaultId, req.path, req.version),
    'versions:export': (req) => ({ jobId: s.vaults.exportVersion(req.vaultId, req.path, req.version, req.dest) }),
    'trash:list': (req) => s.vaults.trash(req.vaultId),
    'trash:restore': (req) => s.vaults.restoreFromTrash(req.vaultId, req.id),
    'trash:empty': (req) => s.vaults.emptyTrash(req.vaultId, req.ids),
    'trash:setRetention': (req) => s.vaults.setRetention(req.vaultId, { days: req.days, versions: req.versions }),
  };
}

export function setupEdits(s: AppServices): Group<'edits:list' | 'edits:save' | 'edits:discard'> {
  return {
    'edits:list': () => s.saveback.list(),
    'edits:save': (req) => s.saveback.saveNow(req.id),
    'edits:discard': async (req) => (await s.saveback.discard(req.id), ok),
  };
}

export function setupJobs(s: AppServices): Group<'jobs:list' | 'jobs:cancel' | 'jobs:clearFinished'> {
  return {
    'jobs:list': () => s.jobs.list(),
    'jobs:cancel': (req) => (s.jobs.cancel(req.jobId), ok),
    'jobs:clearFinished': () => (s.jobs.clearFinished(), ok),
  };
}

export function setupMembers(s: AppServices): Group<'members:list' | 'members:grant' | 'members:revoke' | 'members:rotate' | 'members:dismissRequest' | 'members:requestAccess'> {
  return {
    'members:list': (req) => s.vaults.members(req.vaultId),
    'members:grant': (req) => s.vaults.grant(req.vaultId, req.recipient, req.label),
    'members:revoke': (req) => s.vaults.revoke(req.vaultId, req.slotId, req.reencrypt),
    'members:rotate': (req) => s.vaults.rotate(req.vaultId),
    'members:dismissRequest': async (req) => (await s.vaults.dismissRequest(req.vaultId, req.requestId), ok),
    'members:requestAccess': async (req) => (await s.vaults.requestAccess(req.dir, req.identityId, req.name), ok),
  };
}

export function setupIdentities(s: AppServices): Group<'identities:list' | 'identities:create' | 'identities:remove'> {
  return {
    'identities:list': () => s.identities.list(),
    'identities:create': async (req) => {
      const id = await s.identities.create(req.label);
      s.activity.add({ vaultId: null, vaultName: null, action: 'member key created', detail: `${id.label} (${id.fingerprint})`, ok: true });
      return id;
    },
    'identities:remove': async (req) => (await s.identities.remove(req.identityId), ok),
  };
}

export function setupHardwareKeys(s: AppServices): Group<'hwkeys:detect' | 'hwkeys:enroll' | 'hwkeys:list' | 'hwkeys:remove'> {
  return {
    'hwkeys:detect': (req) => s.hwkeys.detect(req.modulePath),
    'hwkeys:enroll': (req) => s.hwkeys.enroll(req),
    'hwkeys:list': () => s.hwkeys.list(),
    'hwkeys:remove': async (req) => (await s.hwkeys.remove(req.hwkeyId), ok),
  };
}

export function setupTransit(s: AppServices): Group<'transit:get' | 'transit:set' | 'transit:test'> {
  return {
    'transit:get': () => s.transit.get(),
    'transit:set': (req) => s.transit.set(req),
    'transit:test': (req) => s.transit.test(req),
  };
}

export function setupDialogs(s: AppServices): Group<'dialog:pickFolder' | 'dialog:pickFiles' | 'dialog:saveFile' | 'dialog:pickModule' | 'picker:list' | 'picker:done'> {
  return {
    'dialog:pickFolder': async (req) => ({ path: await s.dialogs.pickFolder(req.title) }),
    'dialog:pickFiles': async (req) => ({ paths: await s.dialogs.pickFiles(req.title, req.folders) }),
    'dialog:saveFile': async (req) => ({ path: await s.dialogs.saveFile(req.title, req.defaultName) }),
    'dialog:pickModule': async (req) => ({ path: await s.dialogs.pickModule(req.title) }),
    'picker:list': (req) => picker(s).list(req.pickerId, req.dir),
    'picker:done': async (req) => (await picker(s).done(req.pickerId, req.paths), ok),
  };
}

/** Issue 11 additions (polish): checks and admin tasks the app's screens ask for. */
export function setupPolish(s: AppServices): Group<'vaults:checkFolder' | 'admin:passwd' | 'admin:grantTransit' | 'admin:verify'> {
  return {
    'vaults:checkFolder': async (req) => ({ state: await checkNewVaultFolder(req.dir, s.dialogs) }),
    'admin:passwd': (req) => s.vaults.changePassphrase(req.vaultId, req.passphrase),
    'admin:grantTransit': (req) => s.vaults.grantTransit(req.vaultId),
    'admin:verify': (req) => s.vaults.healthCheck(req.vaultId, req.repair),
  };
}

/** Issue 10 part 2: "Mount as drive". */
export function setupDrive(s: AppServices): Group<'drive:status' | 'drive:mount' | 'drive:unmount' | 'drive:show' | 'drive:copyPassword'> {
  const unlocked = (vaultId: string): void => {
    if (!s.vaults.isUnlocked(vaultId)) throw new CofferError('VAULT_LOCKED', 'the vault is locked; unlock it first');
  };
  return {
    'drive:status': (req) => s.drive.status(req.vaultId),
    'drive:mount': (req) => (unlocked(req.vaultId), s.drive.mount(req.vaultId, req.readOnly === true)),
    'drive:unmount': async (req) => (await s.drive.stop(req.vaultId, 'unmount'), s.drive.status(req.vaultId)),
    'drive:show': async (req) => (await s.drive.show(req.vaultId), ok),
    'drive:copyPassword': (req) => s.drive.copyPassword(req.vaultId),
  };
}

export function createHandlers(s: AppServices): Handlers {
  return {
    ...setupDrive(s),
    ...setupPolish(s),
    ...setupApp(s),
    ...setupVaults(s),
    ...setupFiles(s),
    ...setupVersions(s),
    ...setupEdits(s),
    ...setupJobs(s),
    ...setupMembers(s),
    ...setupIdentities(s),
    ...setupHardwareKeys(s),
    ...setupTransit(s),
    ...setupDialogs(s),
  };
}
