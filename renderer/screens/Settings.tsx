import { useEffect, useState } from 'react';
import type { AppInfo, Settings } from '../../preload/contract';
import { coffer, errorOf } from '../util';

export function SettingsScreen(props: { settings: Settings | null; info: AppInfo | null; onSaved: (s: Settings) => void }) {
  const [draft, setDraft] = useState<Settings | null>(props.settings);
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => setDraft(props.settings), [props.settings]);
  if (!draft) return <p>Loading settings…</p>;

  const save = async (patch: Partial<Settings>) => {
    const next = { ...draft, ...patch };
    setDraft(next);
    try {
      const saved = await coffer().settings.set(patch);
      props.onSaved(saved);
      setStatus({ ok: true, text: 'Saved.' });
    } catch (e) {
      setStatus({ ok: false, text: errorOf(e).message });
    }
  };

  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      <label className="field">
        <span>Lock vaults after being idle for</span>
        <select value={draft.autoLockMinutes} onChange={(e) => void save({ autoLockMinutes: Number(e.target.value) })}>
          {[1, 5, 10, 15, 30, 60, 240].map((m) => <option key={m} value={m}>{m} minute{m === 1 ? '' : 's'}</option>)}
          <option value={0}>Never (not recommended)</option>
        </select>
        <span className="hint">Locking wipes the vault key from memory and removes files you opened from their temporary folder.</span>
      </label>
      <fieldset>
        <legend>Theme</legend>
        {(['system', 'light', 'dark'] as const).map((t) => (
          <label key={t} className="check">
            <input type="radio" name="theme" value={t} checked={draft.theme === t} onChange={() => void save({ theme: t })} />
            <span>{t === 'system' ? 'Same as the system' : t === 'light' ? 'Light' : 'Dark'}</span>
          </label>
        ))}
      </fieldset>
      <label className="field">
        <span>PKCS#11 module for hardware keys</span>
        <input value={draft.pkcs11Module} placeholder="empty: look in the usual places (libykcs11, opensc-pkcs11)" onChange={(e) => setDraft({ ...draft, pkcs11Module: e.target.value })} onBlur={() => void save({ pkcs11Module: draft.pkcs11Module })} />
        <button type="button" className="btn" onClick={() => void coffer().dialog.pickModule({ title: 'Choose the PKCS#11 module' }).then((r) => { if (r.path) { setDraft({ ...draft, pkcs11Module: r.path }); void save({ pkcs11Module: r.path }); } })}>Choose…</button>
      </label>
      {status && <div className={`alert ${status.ok ? 'ok' : 'error'}`} role={status.ok ? 'status' : 'alert'}>{status.text}</div>}
      <h2>About this computer</h2>
      {props.info && (
        <table style={{ maxWidth: 640 }}>
          <tbody>
            <tr><th>Coffer version</th><td>{props.info.version}</td></tr>
            <tr><th>Platform</th><td>{props.info.platform}</td></tr>
            <tr><th>Private key storage</th><td>{props.info.storageBackend}</td></tr>
          </tbody>
        </table>
      )}
      {props.info?.storageWarning && <div className="alert warn" role="note">{props.info.storageWarning}</div>}
    </section>
  );
}
