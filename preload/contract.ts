/**
 * The one IPC contract between the renderer (through the preload) and the main process.
 *
 * Every invoke channel has a zod schema for its request and its response; every event channel a
 * schema for its payload. Main validates each request at run time and parses each response and
 * event through its schema before sending (zod objects strip unknown keys, so a field that is not
 * in the contract never crosses). The preload validates both directions again. The renderer
 * imports only the types.
 *
 * Nothing in this contract carries key bytes or file contents. Secrets a person types
 * (passphrase, PIN, recovery key, Vault token) travel renderer → main only, and are never echoed
 * back.
 */
import { z } from 'zod';

// The window's CSP forbids eval: zod must not compile validators with `new Function`.
z.config({ jitless: true });

/* ---------------------------------------------------------------- shared shapes */

export const ErrorInfo = z.object({ code: z.string(), message: z.string() });
export type ErrorInfo = z.infer<typeof ErrorInfo>;

/** What main sends back for every invoke: a value or an error, never a thrown stack trace. */
export type Envelope<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo };

const Id = z.string().min(1).max(200);
const VPath = z.string().min(1).max(4096); // vault path, "/" is the root
const FsPath = z.string().min(1).max(4096); // a path on this computer
const Label = z.string().max(200);
const Secret = z.string().min(1).max(4096);
const Iso = z.string(); // ISO 8601 date-time

export const SlotType = z.enum(['passphrase', 'x25519', 'recovery', 'piv-p256', 'vault-transit', 'unknown']);
export type SlotType = z.infer<typeof SlotType>;

export const SlotInfo = z.object({
  id: z.string(),
  type: SlotType,
  label: z.string(),
  fingerprint: z.string().nullable(),
  created: Iso.nullable(),
});
export type SlotInfo = z.infer<typeof SlotInfo>;

export const AccessRequest = z.object({
  id: z.string(),
  name: z.string(),
  recipient: z.string(),
  fingerprint: z.string().nullable(),
  created: Iso.nullable(),
});
export type AccessRequest = z.infer<typeof AccessRequest>;

export const VaultSummary = z.object({
  id: Id,
  name: z.string(),
  path: z.string(),
  state: z.enum(['locked', 'unlocked', 'missing']),
  /** Epoch milliseconds at which an unlocked vault locks itself, or null (never / locked). */
  autoLockAt: z.number().nullable(),
  /** Key slots readable without unlocking (type, label), for the unlock screen. */
  slots: z.array(SlotInfo),
  conflicts: z.number().int().nonnegative(),
  pendingRequests: z.number().int().nonnegative(),
});
export type VaultSummary = z.infer<typeof VaultSummary>;

export const EntryInfo = z.object({
  path: z.string(),
  name: z.string(),
  type: z.enum(['file', 'dir']),
  size: z.number().nullable(),
  mtime: Iso.nullable(),
  /** Set when a sync client left two versions of this entry. */
  conflict: z.boolean(),
});
export type EntryInfo = z.infer<typeof EntryInfo>;

export const ConflictVersion = z.object({
  id: z.string(),
  /** "this copy" or where the other copy came from (e.g. "Dropbox conflicted copy (laptop)"). */
  origin: z.string(),
  name: z.string(),
  size: z.number().nullable(),
  mtime: Iso.nullable(),
});
export const ConflictInfo = z.object({
  path: z.string(),
  versions: z.array(ConflictVersion),
});
export type ConflictInfo = z.infer<typeof ConflictInfo>;

export const JobInfo = z.object({
  id: z.string(),
  kind: z.enum(['add', 'export', 'open', 'reencrypt', 'rotate']),
  title: z.string(),
  /** What the job works on, so the window can word its title in its own language (title is the English). */
  subject: z.object({ name: z.string(), count: z.number(), vault: z.string() }).nullable(),
  vaultId: z.string().nullable(),
  state: z.enum(['queued', 'running', 'done', 'failed', 'cancelled']),
  filesDone: z.number(),
  filesTotal: z.number(),
  bytesDone: z.number(),
  bytesTotal: z.number(),
  currentFile: z.string().nullable(),
  currentFileBytesDone: z.number(),
  currentFileBytesTotal: z.number(),
  bytesPerSecond: z.number(),
  etaSeconds: z.number().nullable(),
  error: ErrorInfo.nullable(),
  startedAt: z.number(),
  finishedAt: z.number().nullable(),
});
export type JobInfo = z.infer<typeof JobInfo>;

export const MemberIdentity = z.object({
  id: z.string(),
  label: z.string(),
  recipient: z.string(),
  fingerprint: z.string(),
  created: Iso,
  /** How the private key is kept on this computer. */
  protection: z.enum(['os-keychain', 'obfuscated-only']),
});
export type MemberIdentity = z.infer<typeof MemberIdentity>;

export const TokenKey = z.object({
  label: z.string(),
  id: z.string(),
  curve: z.string(),
  fingerprint: z.string(),
  recipient: z.string().nullable(),
});
export const TokenInfo = z.object({
  slotId: z.string(),
  label: z.string(),
  serial: z.string(),
  manufacturer: z.string(),
  model: z.string(),
  keys: z.array(TokenKey),
});
export type TokenInfo = z.infer<typeof TokenInfo>;

export const HardwareKey = z.object({
  id: z.string(),
  label: z.string(),
  recipient: z.string(),
  fingerprint: z.string(),
  tokenLabel: z.string(),
  serial: z.string(),
  module: z.string(),
  created: Iso,
});
export type HardwareKey = z.infer<typeof HardwareKey>;

export const TransitAuth = z.discriminatedUnion('method', [
  /** token omitted = keep the stored one (the renderer never gets it back). */
  z.object({ method: z.literal('token'), token: z.string().max(4096).optional() }),
  z.object({ method: z.literal('approle'), roleId: z.string().max(512), secretId: z.string().max(4096).optional() }),
  z.object({ method: z.literal('cert'), certRole: z.string().max(512).optional() }),
]);
export const TransitSettingsInput = z.object({
  address: z.string().max(2048),
  namespace: z.string().max(512),
  mount: z.string().max(512),
  keyName: z.string().max(512),
  caCertPath: z.string().max(4096),
  clientCertPath: z.string().max(4096),
  clientKeyPath: z.string().max(4096),
  auth: TransitAuth,
});
export type TransitSettingsInput = z.infer<typeof TransitSettingsInput>;
export const TransitSettings = TransitSettingsInput.extend({
  auth: z.discriminatedUnion('method', [
    z.object({ method: z.literal('token') }),
    z.object({ method: z.literal('approle'), roleId: z.string() }),
    z.object({ method: z.literal('cert'), certRole: z.string().optional() }),
  ]),
  /** Whether a token / secret id is stored (its value never leaves main). */
  secretStored: z.boolean(),
  /** Addresses this computer agrees to contact. */
  allowlist: z.array(z.string()),
});
export type TransitSettings = z.infer<typeof TransitSettings>;

export const Settings = z.object({
  /** Minutes of inactivity before an unlocked vault locks; 0 = never. */
  autoLockMinutes: z.number().int().min(0).max(24 * 60),
  theme: z.enum(['system', 'light', 'dark']),
  /** PKCS#11 module path; empty = search the usual places. */
  pkcs11Module: z.string().max(4096),
  /** The window's language: "system" follows the system's (navigator.languages). */
  language: z.enum(['system', 'en', 'de']),
});
export type Settings = z.infer<typeof Settings>;

export const ActivityEntry = z.object({
  time: z.number(),
  vaultId: z.string().nullable(),
  vaultName: z.string().nullable(),
  action: z.string(),
  detail: z.string(),
  ok: z.boolean(),
});
export type ActivityEntry = z.infer<typeof ActivityEntry>;

/** An opened file ("Open") whose edits are not in the vault yet and wait for the person's decision. */
export const UnsavedEdit = z.object({
  /** The opened copy's id (random; names no path on this computer). */
  id: z.string(),
  vaultId: z.string(),
  vaultName: z.string(),
  /** The vault path it saves to. */
  path: z.string(),
  name: z.string(),
  /** Why it is not saved ("the vault folder is not reachable…", "Coffer stopped before saving it…"). */
  reason: z.string(),
  /** Save needs the vault unlocked. */
  vaultUnlocked: z.boolean(),
  /** When the copy was changed (epoch ms), when known. */
  changedAt: z.number().nullable(),
});
export type UnsavedEdit = z.infer<typeof UnsavedEdit>;

/** A file a client has open through the drive: an upload streaming in, a download, or an editor's lock. */
export const DriveOpenFile = z.object({ path: z.string(), kind: z.enum(['upload', 'download', 'lock']) });
export type DriveOpenFile = z.infer<typeof DriveOpenFile>;

/**
 * "Mount as drive": the vault's WebDAV server and how it was mounted. Never the password: main
 * hands it to the system's client itself, or to the clipboard on "Copy password".
 */
export const DriveStatus = z.object({
  vaultId: z.string(),
  running: z.boolean(),
  /** http://127.0.0.1:PORT/ while running. */
  url: z.string().nullable(),
  user: z.string().nullable(),
  readOnly: z.boolean(),
  /** gio (GVfs), file-manager (it asks for the password), macos (Finder), windows (net use), manual (none could start). */
  how: z.enum(['gio', 'file-manager', 'macos', 'windows', 'manual']).nullable(),
  /** Where the files appear: a dav:// URI, /Volumes/…, a drive letter. */
  location: z.string().nullable(),
  /** What the mount tries that failed said. */
  notes: z.array(z.string()),
  openFiles: z.array(DriveOpenFile),
});
export type DriveStatus = z.infer<typeof DriveStatus>;

export const AppInfo = z.object({
  version: z.string(),
  platform: z.string(),
  /** safeStorage backend on Linux (basic_text, gnome_libsecret, kwallet…) or "os" elsewhere. */
  storageBackend: z.string(),
  /** Set when private keys on this computer are only obfuscated, not encrypted by the OS. */
  storageWarning: z.string().nullable(),
  /**
   * The one thing the renderer knows about its shell: "electron" (native dialogs, drag out, paths
   * of dropped files) or "browser" (`coffer ui`: in-app picker, dropped files are uploaded with
   * files.upload, drag-out is a download).
   */
  shell: z.enum(['electron', 'browser']),
});
export type AppInfo = z.infer<typeof AppInfo>;

export const UnlockMethod = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('passphrase'), passphrase: Secret }),
  z.object({ kind: z.literal('recovery'), recoveryKey: Secret }),
  z.object({ kind: z.literal('identity'), identityId: Id }),
  z.object({ kind: z.literal('hwkey'), hwkeyId: Id, pin: Secret }),
  z.object({ kind: z.literal('transit') }),
]);
export type UnlockMethod = z.infer<typeof UnlockMethod>;

export const CreateVaultRequest = z.object({
  dir: FsPath,
  name: z.string().min(1).max(200),
  passphrase: z.string().max(4096).nullable(),
  /** This computer's member identities to add as slots. */
  identityIds: z.array(Id),
  /** Other people's recipient strings (coffer1…). */
  recipients: z.array(z.object({ recipient: z.string().min(1).max(2048), label: Label })),
  hwkeyIds: z.array(Id),
  transit: z.boolean(),
  /** Where to save the recovery key (it is never shown in the window); null = no file. */
  recoveryKeyPath: FsPath.nullable(),
});
export type CreateVaultRequest = z.infer<typeof CreateVaultRequest>;

export const PickerMode = z.enum(['folder', 'files', 'folders', 'save', 'module']);
export const PickerListing = z.object({
  dir: z.string(),
  parent: z.string().nullable(),
  roots: z.array(z.object({ label: z.string(), path: z.string() })),
  entries: z.array(z.object({ name: z.string(), path: z.string(), type: z.enum(['dir', 'file']), size: z.number().nullable() })),
});
export type PickerListing = z.infer<typeof PickerListing>;

/** Versions and trash (issue 10 part 3; docs/FORMAT.md §6.16). Names and sizes only: no key, no content. */
export const FileVersion = z.object({
  version: z.number().int().min(1),
  size: z.number().nonnegative(),
  mtime: Iso,
  /** When it was replaced; null for the current version. */
  replaced: Iso.nullable(),
  current: z.boolean(),
  /** When it is collected at the latest (by age); null for the current version. */
  expires: Iso.nullable(),
});
export type FileVersion = z.infer<typeof FileVersion>;
export const TrashEntry = z.object({
  id: Id,
  name: z.string(),
  /** Where it was when deleted ("/a/b"). */
  path: z.string(),
  type: z.enum(['file', 'dir']),
  files: z.number().int().nonnegative(),
  size: z.number().nonnegative(),
  deleted: Iso,
  expires: Iso,
});
export type TrashEntry = z.infer<typeof TrashEntry>;
export const Retention = z.object({ days: z.number().int(), versions: z.number().int() });
export type Retention = z.infer<typeof Retention>;

const Empty = z.object({});
const VaultRef = z.object({ vaultId: Id });
const Ok = z.object({ ok: z.literal(true) });

/* ---------------------------------------------------------------- invoke channels */

export const channels = {
  'app:info': { request: Empty, response: AppInfo },

  'vaults:list': { request: Empty, response: z.array(VaultSummary) },
  'vaults:create': { request: CreateVaultRequest, response: z.object({ vault: VaultSummary, recoveryKeySaved: z.boolean() }) },
  'vaults:open': { request: z.object({ dir: FsPath }), response: VaultSummary },
  'vaults:forget': { request: VaultRef, response: Ok },
  'vaults:unlock': { request: z.object({ vaultId: Id, method: UnlockMethod }), response: VaultSummary },
  'vaults:lock': { request: VaultRef, response: Ok },
  /** Tells main the person is active in this vault (resets the auto-lock timer). */
  'vaults:touch': { request: VaultRef, response: Ok },

  /** Issue 11 admin tasks in the app: change the passphrase, add a Transit slot, health check (verify; repair after a preview). */
  'admin:passwd': { request: z.object({ vaultId: Id, passphrase: Secret }), response: SlotInfo },
  'admin:grantTransit': { request: VaultRef, response: SlotInfo },
  'admin:verify': {
    request: z.object({ vaultId: Id, repair: z.boolean() }),
    response: z.object({
      ok: z.boolean(), records: z.number(), blobs: z.number(), bytes: z.number(),
      problems: z.array(z.object({ severity: z.enum(['error', 'warning', 'info']), path: z.string().nullable(), message: z.string(), repairable: z.boolean() })),
      repaired: z.array(z.string()),
    }),
  },
  /** Issue 11: the create wizard checks the folder at its first step (picked folder, or a new sub-folder of one). */
  'vaults:checkFolder': { request: z.object({ dir: FsPath }), response: z.object({ state: z.enum(['new', 'empty', 'not-empty', 'vault', 'not-a-folder']) }) },

  'files:list': { request: z.object({ vaultId: Id, path: VPath }), response: z.object({ entries: z.array(EntryInfo), conflicts: z.array(ConflictInfo) }) },
  'files:add': { request: z.object({ vaultId: Id, sources: z.array(FsPath).min(1).max(10_000), to: VPath }), response: z.object({ jobId: z.string() }) },
  'files:export': { request: z.object({ vaultId: Id, path: VPath, dest: FsPath }), response: z.object({ jobId: z.string() }) },
  'files:open': { request: z.object({ vaultId: Id, path: VPath }), response: z.object({ jobId: z.string() }) },
  /**
   * Browser shell (app:info shell = "browser"): Export and drag-out are a download. Main checks the
   * file and returns a one-time URL on this server (single use, short-lived, for this page's session);
   * the page opens it and main streams the plaintext as it decrypts (nothing is written to disk).
   */
  'files:exportDownload': { request: z.object({ vaultId: Id, path: VPath, version: z.number().int().min(1).optional() }), response: z.object({ url: z.string().regex(/^\/download\/[A-Za-z0-9_-]{43}$/), name: z.string().min(1).max(1024) }) },
  /** Drag a file out of the window: main decrypts it into the private temp folder and starts an OS drag. */
  'files:dragOut': { request: z.object({ vaultId: Id, path: VPath }), response: Ok },
  'files:mkdir': { request: z.object({ vaultId: Id, path: VPath }), response: Ok },
  'files:move': { request: z.object({ vaultId: Id, from: VPath, to: VPath }), response: Ok },
  /** Moves an entry to the trash; `trashId` undoes it through trash:restore (null: removed for good). */
  'files:remove': { request: z.object({ vaultId: Id, path: VPath, recursive: z.boolean() }), response: z.object({ ok: z.literal(true), trashId: Id.nullable() }) },
  'files:resolveConflict': { request: z.object({ vaultId: Id, path: VPath, keep: z.enum(['both', 'mine', 'theirs']), versionId: z.string().optional() }), response: Ok },

  /** Opened files whose edits could not be saved back (after a failed lock or quit, or a crash). */
  'edits:list': { request: Empty, response: z.array(UnsavedEdit) },
  /** Saves one of them to its vault now (the vault must be unlocked); a changed entry keeps both versions. */
  'edits:save': { request: z.object({ id: Id }), response: z.object({ path: z.string(), version: z.number() }) },
  /** Wipes one of them without saving: its edits are gone. */
  'edits:discard': { request: z.object({ id: Id }), response: Ok },

  'jobs:list': { request: Empty, response: z.array(JobInfo) },
  'jobs:cancel': { request: z.object({ jobId: z.string().min(1) }), response: Ok },
  'jobs:clearFinished': { request: Empty, response: Ok },

  'members:list': { request: VaultRef, response: z.object({ slots: z.array(SlotInfo), pending: z.array(AccessRequest) }) },
  'members:grant': { request: z.object({ vaultId: Id, recipient: z.string().min(1).max(2048), label: Label }), response: SlotInfo },
  'members:revoke': { request: z.object({ vaultId: Id, slotId: Id, reencrypt: z.boolean() }), response: z.object({ rotatedTo: z.number().nullable(), reencryptedFiles: z.number() }) },
  'members:rotate': { request: VaultRef, response: z.object({ epoch: z.number(), records: z.number() }) },
  'members:dismissRequest': { request: z.object({ vaultId: Id, requestId: Id }), response: Ok },
  'members:requestAccess': { request: z.object({ dir: FsPath, identityId: Id, name: z.string().min(1).max(200) }), response: Ok },

  /** A file's versions (current first) and the vault's retention. */
  'versions:list': { request: z.object({ vaultId: Id, path: VPath }), response: z.object({ versions: z.array(FileVersion), retention: Retention }) },
  /** Makes an earlier version current again; the one it replaces is kept as a previous version. */
  'versions:restore': { request: z.object({ vaultId: Id, path: VPath, version: z.number().int().min(1) }), response: z.object({ path: z.string(), version: z.number() }) },
  /** Writes one version to a file the person picked in the Save dialog (like files:export). */
  'versions:export': { request: z.object({ vaultId: Id, path: VPath, version: z.number().int().min(1), dest: FsPath }), response: z.object({ jobId: z.string() }) },
  'trash:list': { request: VaultRef, response: z.object({ entries: z.array(TrashEntry), retention: Retention }) },
  /** Changes how long versions and trash are kept (a vault setting: a new epoch carries it). */
  'trash:setRetention': { request: z.object({ vaultId: Id, days: z.number().int().min(1).max(3650), versions: z.number().int().min(0).max(100) }), response: Retention },
  /** Puts a trash entry back where it was ("NAME (restored)" if the name is taken); the path it got. */
  'trash:restore': { request: z.object({ vaultId: Id, id: Id }), response: z.object({ path: z.string() }) },
  /** Empties the trash (or removes the entries given) for good; their space is freed by a collection after the sync grace. */
  'trash:empty': { request: z.object({ vaultId: Id, ids: z.array(Id).max(10_000).optional() }), response: z.object({ emptied: z.number(), blobs: z.number(), pending: z.number() }) },

  'identities:list': { request: Empty, response: z.array(MemberIdentity) },
  'identities:create': { request: z.object({ label: z.string().min(1).max(200) }), response: MemberIdentity },
  'identities:remove': { request: z.object({ identityId: Id }), response: Ok },

  'hwkeys:detect': { request: z.object({ modulePath: z.string().max(4096) }), response: z.object({ module: z.string(), tokens: z.array(TokenInfo) }) },
  'hwkeys:enroll': {
    request: z.object({
      modulePath: z.string().max(4096),
      serial: z.string().min(1).max(200),
      slot: z.string().regex(/^(9d|8[2-9]|9[0-5])$/),
      mode: z.enum(['generate', 'existing']),
      keyId: z.string().max(200).optional(),
      label: z.string().min(1).max(200),
      pin: Secret,
    }),
    response: HardwareKey,
  },
  'hwkeys:list': { request: Empty, response: z.array(HardwareKey) },
  'hwkeys:remove': { request: z.object({ hwkeyId: Id }), response: Ok },

  'transit:get': { request: Empty, response: TransitSettings },
  'transit:set': { request: TransitSettingsInput, response: TransitSettings },
  'transit:test': { request: TransitSettingsInput, response: z.object({ ok: z.boolean(), address: z.string(), message: z.string(), keyVersions: z.number().nullable() }) },

  'settings:get': { request: Empty, response: Settings },
  'settings:set': { request: Settings.partial(), response: Settings },

  'activity:list': { request: z.object({ limit: z.number().int().min(1).max(5000).optional() }), response: z.array(ActivityEntry) },

  'dialog:pickFolder': { request: z.object({ title: z.string().max(200) }), response: z.object({ path: z.string().nullable() }) },
  'dialog:pickFiles': { request: z.object({ title: z.string().max(200), folders: z.boolean() }), response: z.object({ paths: z.array(z.string()) }) },
  'dialog:saveFile': { request: z.object({ title: z.string().max(200), defaultName: z.string().max(500) }), response: z.object({ path: z.string().nullable() }) },
  /** The in-app picker (browser shell): what is in one folder, confined to home and mounted volumes. */
  'picker:list': { request: z.object({ pickerId: Id, dir: FsPath.optional() }), response: PickerListing },
  /** The person's choice in the in-app picker (null = cancelled); main checks it and records it as picked. */
  'picker:done': { request: z.object({ pickerId: Id, paths: z.array(FsPath).max(10_000).nullable() }), response: Ok },
  /**
   * Browser shell: files dropped on the window are uploaded (PUT /upload/ID/N, streamed to main)
   * and added to the vault as one job. `files` are paths relative to the drop ("Reports/q1.txt").
   */
  'files:uploadStart': {
    request: z.object({ vaultId: Id, to: VPath, files: z.array(z.object({ path: z.string().min(1).max(4096), size: z.number().int().nonnegative() })).min(1).max(10_000), folders: z.array(z.string().min(1).max(4096)).max(10_000) }),
    response: z.object({ jobId: z.string(), uploadId: z.string() }),
  },
  /** "Mount as drive" (issue 10 part 2): the drive's state, start (server + system mount), stop, and its password to the clipboard. */
  'drive:status': { request: VaultRef, response: DriveStatus },
  'drive:mount': { request: z.object({ vaultId: Id, readOnly: z.boolean().optional() }), response: DriveStatus },
  'drive:unmount': { request: VaultRef, response: DriveStatus },
  'drive:show': { request: VaultRef, response: Ok },
  /** Main writes the password to the clipboard (it is never sent to the window); cleared after a while when main can read the clipboard back. */
  'drive:copyPassword': { request: VaultRef, response: z.object({ clearsAfterSeconds: z.number().nullable() }) },
  /** A PKCS#11 module file; main remembers the pick and loads modules only from picks or known install locations. */
  'dialog:pickModule': { request: z.object({ title: z.string().max(200) }), response: z.object({ path: z.string().nullable() }) },
} as const;

/**
 * One-way message preload → main: a path the person dropped on the window. The preload sends it
 * from inside pathForFile (webUtils.getPathForFile gives a path only for files really dropped or
 * picked), so main adds to a vault only files the person chose, never a path the page made up.
 */
export const DROPPED_PATH_CHANNEL = 'files:dropped';
export const DroppedPath = z.object({ path: z.string().min(1).max(4096) });

export type Channel = keyof typeof channels;
export type RequestOf<C extends Channel> = z.input<(typeof channels)[C]['request']>;
export type ParsedRequestOf<C extends Channel> = z.output<(typeof channels)[C]['request']>;
export type ResponseOf<C extends Channel> = z.output<(typeof channels)[C]['response']>;

/* ---------------------------------------------------------------- events (main → renderer) */

export const events = {
  'event:job': JobInfo,
  'event:vaultLocked': z.object({ vaultId: z.string(), reason: z.enum(['manual', 'idle', 'exit', 'revoked']) }),
  'event:conflicts': z.object({ vaultId: z.string(), conflicts: z.array(ConflictInfo) }),
  'event:accessRequests': z.object({ vaultId: z.string(), requests: z.array(AccessRequest) }),
  /** Browser shell: a dialog was asked for; the renderer shows the in-app picker. */
  'event:picker': z.object({ pickerId: z.string(), mode: PickerMode, title: z.string(), defaultName: z.string(), start: z.string() }),
  /** The opened files whose edits are not saved and wait for Save or Discard (the whole list, each time it changes). */
  'event:unsavedEdits': z.object({ edits: z.array(UnsavedEdit) }),
  /** The drive of a vault started, stopped or changed. */
  'event:drive': DriveStatus,
  /** "Touch your key", "Contacting Vault…": shown while a provider waits. */
  'event:notice': z.object({ kind: z.enum(['touch', 'contacting', 'info']), message: z.string() }),
} as const;

export type EventChannel = keyof typeof events;
export type EventOf<E extends EventChannel> = z.output<(typeof events)[E]>;

export const isChannel = (c: string): c is Channel => Object.prototype.hasOwnProperty.call(channels, c);
export const isEventChannel = (c: string): c is EventChannel => Object.prototype.hasOwnProperty.call(events, c);

/** Turns a zod failure into the contract's error shape (field paths, no values). */
export function validationError(where: string, error: z.ZodError): ErrorInfo {
  const first = error.issues[0];
  const at = first && first.path.length > 0 ? ` at ${first.path.join('.')}` : '';
  return { code: 'USAGE', message: `${where}: invalid ${first ? first.message.toLowerCase() : 'value'}${at}` };
}
