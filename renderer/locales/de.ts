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
  drive: {
    tab: 'Laufwerk', title: 'Als Laufwerk einbinden',
    intro: 'Bearbeiten Sie die Dateien dieses Tresors im Dateimanager. Coffer stellt den entsperrten Tresor als WebDAV-Laufwerk nur auf diesem Computer bereit (127.0.0.1), mit einem neuen Passwort für diese Sitzung, und bindet es mit dem Client des Systems ein. Beim Sperren des Tresors wird es ausgehängt.',
    readOnly: 'Schreibgeschützt', readOnlyHint: 'Dateien können geöffnet und herauskopiert, aber nicht geändert werden',
    mount: 'Als Laufwerk einbinden', mounting: 'Wird eingebunden…', unmount: 'Aushängen', show: 'Im Dateimanager öffnen',
    how: {
      gio: 'Mit GVfs eingebunden: Das Laufwerk steht im Dateimanager unter „Andere Orte“ ({{location}}).',
      'file-manager': 'Der Dateimanager wurde mit dem Laufwerk geöffnet. Wenn er fragt, melden Sie sich mit dem Benutzer unten und dem Passwort an (Passwort kopieren).',
      macos: 'Im Finder eingebunden unter {{location}}.',
      windows: 'Als Laufwerk {{location}} verbunden.',
      manual: 'Kein Client des Systems konnte das Laufwerk hier einbinden. Verbinden Sie einen WebDAV-Client (rclone, Cyberduck, WinSCP …) mit der Adresse unten, dem Benutzer und dem Passwort.',
    },
    isReadOnly: 'Es ist schreibgeschützt.',
    connection: 'Verbindung', address: 'Adresse', user: 'Benutzer', password: 'Passwort', copyPassword: 'Passwort kopieren',
    passwordHint: 'Coffer legt es in die Zwischenablage; in diesem Fenster wird es nie angezeigt. Es ändert sich bei jedem Start des Laufwerks.',
    copied: 'Das Passwort ist in der Zwischenablage.', copiedClears: 'Das Passwort ist in der Zwischenablage; Coffer leert sie in {{seconds}} s.',
    openNow: 'Jetzt über das Laufwerk geöffnet:', openFiles: 'Über das Laufwerk geöffnete Dateien', details: 'Was das System meldete',
    kind: { upload: 'Hochladen läuft', download: 'wird gelesen', lock: 'von einer Anwendung gesperrt' },
    lockHint: 'Sperren, automatisches Sperren und Beenden von Coffer hängen das Laufwerk aus und stoppen es.',
    lockConfirm: 'Diese Dateien sind noch über das Laufwerk geöffnet. Sperren hängt es jetzt aus: Nicht abgeschlossene Uploads erreichen den Tresor nicht.',
    lockAnyway: 'Trotzdem sperren', cancel: 'Abbrechen',
  },
};
