/** English catalog (the source language). German is in de.ts; both must have the same keys. */
export const en = {
  nav: {
    main: 'Main', vaults: 'Vaults', yourVaults: 'Your vaults', keys: 'Keys', memberKeys: 'Member keys',
    hardwareKeys: 'Hardware keys', transit: 'Vault connection', app: 'App', activity: 'Activity', settings: 'Settings',
    attention_one: '{{count}} needs attention', attention_other: '{{count}} need attention',
  },
  jobs: {
    title: 'Jobs', running: '{{count}} running', allFinished: 'all finished', failed: '{{count}} failed',
    earlier: '{{count}} earlier', clearFinished: 'Clear finished', cancel: 'Cancel', dismiss: 'Dismiss',
    of: '{{done}} of {{total}}', files_one: '{{done}} of {{count}} file', files_other: '{{done}} of {{count}} files',
    eta: 'ETA {{eta}}', cancelled: 'Cancelled; nothing half-written was left behind.',
    state: { queued: 'queued', running: 'running', done: 'done', failed: 'failed', cancelled: 'cancelled' },
  },
  drive: {
    tab: 'Drive', title: 'Mount as drive',
    intro: 'Work on this vault’s files in your file manager. Coffer serves the unlocked vault as a WebDAV drive on this computer only (127.0.0.1), with a new password for this session, and mounts it with the system’s own client. Locking the vault unmounts it.',
    readOnly: 'Read-only', readOnlyHint: 'files can be opened and copied out, not changed',
    mount: 'Mount as drive', mounting: 'Mounting…', unmount: 'Unmount', show: 'Open in file manager',
    how: {
      gio: 'Mounted with GVfs: the drive is in your file manager under “Other Locations” ({{location}}).',
      'file-manager': 'Your file manager was opened on the drive. When it asks, sign in as the user below with the password (Copy password).',
      macos: 'Mounted in Finder at {{location}}.',
      windows: 'Mapped as drive {{location}}.',
      manual: 'No system client could mount the drive here. Connect any WebDAV client (rclone, Cyberduck, WinSCP…) to the address below with the user and password.',
    },
    isReadOnly: 'It is read-only.',
    connection: 'Connection', address: 'Address', user: 'User', password: 'Password', copyPassword: 'Copy password',
    passwordHint: 'Coffer puts it on the clipboard; it is never shown in this window. It changes every time the drive starts.',
    copied: 'The password is on the clipboard.', copiedClears: 'The password is on the clipboard; Coffer clears it in {{seconds}} s.',
    openNow: 'Open through the drive now:', openFiles: 'Files open through the drive', details: 'What the system said',
    kind: { upload: 'upload in progress', download: 'being read', lock: 'locked by an application' },
    lockHint: 'Lock, idle lock and quitting Coffer unmount the drive and stop it.',
    lockConfirm: 'These files are still open through the drive. Locking unmounts it now: uploads that have not finished will not reach the vault.',
    lockAnyway: 'Lock anyway', cancel: 'Cancel',
  },
  versions: {
    action: 'Versions…', actionLabel: 'Versions of {{name}}', title: 'Versions of {{name}}', close: 'Close', loading: 'Loading…',
    intro_one: 'When a file is replaced (added again, saved from an opened copy, or through the drive), Coffer keeps its previous version: the newest one, for {{days}} days.',
    intro_other: 'When a file is replaced (added again, saved from an opened copy, or through the drive), Coffer keeps its previous versions: the newest {{count}}, for {{days}} days.',
    listLabel: 'Versions of {{name}}', rowLabel: 'Version {{version}}', version: 'Version', size: 'Size', modified: 'Modified',
    state: 'State', actions: 'Actions', current: 'current', replaced: 'replaced {{date}}',
    restore: 'Restore', restoreLabel: 'Restore version {{version}}', export: 'Export…', exportLabel: 'Export version {{version}}',
    exportTitle: 'Export version {{version}} of {{name}}',
    restored: 'Version {{version}} of {{name}} is current again; the content it replaced is kept as a previous version.',
    exporting: 'Exporting version {{version}} to {{dest}}…', none: 'No previous versions yet.',
  },
  trash: {
    tab: 'Trash', title: 'Trash', intro: 'Deleted files and folders stay here for {{days}} days; then they are removed for good.',
    empty: 'The trash is empty.', listLabel: 'Trash', name: 'Name', where: 'Was in', size: 'Size', deleted: 'Deleted', actions: 'Actions',
    folderFiles_one: '(folder, {{count}} file)', folderFiles_other: '(folder, {{count}} files)', expires: 'removed for good after {{date}}',
    restore: 'Restore', restoreLabel: 'Restore {{name}}', restored: '{{name}} was restored to {{path}}.',
    emptyAll: 'Empty trash…', confirmTitle: 'Empty the trash',
    confirmEmpty_one: 'Remove {{count}} item from the trash for good? It cannot be restored afterwards.',
    confirmEmpty_other: 'Remove {{count}} items from the trash for good? They cannot be restored afterwards.',
    confirm: 'Empty trash', cancel: 'Cancel',
    emptied_one: '{{count}} item was removed for good.', emptied_other: '{{count}} items were removed for good.',
    movedOne: '{{name}} was moved to the trash.', movedMany: '{{count}} items were moved to the trash.', undo: 'Undo', dismiss: 'Dismiss',
    confirmDelete_one: 'Move {{name}} to the trash? You can restore it from the Trash tab until it is removed for good.',
    confirmDelete_other: 'Move {{count}} items to the trash? You can restore them from the Trash tab until they are removed for good.',
    confirmDeleteFolders: 'Folders go with everything in them.',
  },
} as const;

/** The shape every catalog has: the same keys, any strings. */
type Widen<T> = { [K in keyof T]: T[K] extends string ? string : Widen<T[K]> };
export type Catalog = Widen<typeof en>;
