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
} as const;

/** The shape every catalog has: the same keys, any strings. */
type Widen<T> = { [K in keyof T]: T[K] extends string ? string : Widen<T[K]> };
export type Catalog = Widen<typeof en>;
