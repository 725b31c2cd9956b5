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
} as const;

/** The shape every catalog has: the same keys, any strings. */
type Widen<T> = { [K in keyof T]: T[K] extends string ? string : Widen<T[K]> };
export type Catalog = Widen<typeof en>;
