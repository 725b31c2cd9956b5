/** German catalog: the same keys as en.ts (the type checks it). */
import type { Catalog } from './en';

export const de: Catalog = {
  nav: {
    main: 'Hauptmenü', vaults: 'Tresore', yourVaults: 'Ihre Tresore', keys: 'Schlüssel', memberKeys: 'Mitgliedsschlüssel',
    hardwareKeys: 'Hardware-Schlüssel', transit: 'Vault-Verbindung', app: 'App', activity: 'Aktivität', settings: 'Einstellungen',
    attention_one: '{{count}} braucht Aufmerksamkeit', attention_other: '{{count}} brauchen Aufmerksamkeit',
  },
  jobs: {
    title: 'Aufträge', running: '{{count}} laufen', allFinished: 'alle fertig', failed: '{{count}} fehlgeschlagen',
    earlier: '{{count}} ältere', clearFinished: 'Fertige entfernen', cancel: 'Abbrechen', dismiss: 'Ausblenden',
    of: '{{done}} von {{total}}', files_one: '{{done}} von {{count}} Datei', files_other: '{{done}} von {{count}} Dateien',
    eta: 'noch {{eta}}', cancelled: 'Abgebrochen; nichts halb Geschriebenes blieb zurück.',
    state: { queued: 'wartet', running: 'läuft', done: 'fertig', failed: 'fehlgeschlagen', cancelled: 'abgebrochen' },
  },
};
