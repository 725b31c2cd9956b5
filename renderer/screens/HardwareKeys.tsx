import { useEffect, useState } from 'react';
import type { HardwareKey, Settings, TokenInfo } from '../../preload/contract';
import { coffer, errorOf, formatDate, useAction } from '../util';

const SLOTS = ['9d', ...Array.from({ length: 14 }, (_, i) => (0x82 + i).toString(16))];

export function HardwareKeys({ settings }: { settings: Settings | null }) {
  const [modulePath, setModulePath] = useState(settings?.pkcs11Module ?? '');
  const [detected, setDetected] = useState<{ module: string; tokens: TokenInfo[] } | null>(null);
  const [enrolled, setEnrolled] = useState<HardwareKey[] | null>(null);
  const [serial, setSerial] = useState('');
  const [slot, setSlot] = useState('9d');
  const [mode, setMode] = useState<'generate' | 'existing'>('generate');
  const [label, setLabel] = useState('');
  const [pin, setPin] = useState('');

  const load = () => coffer().hwkeys.list().then(setEnrolled, (e: unknown) => setError(errorOf(e).message));
  const { busy, error, status, setError, run } = useAction(load);
  useEffect(() => void load(), []);


  const detect = () => run(async () => {
    const r = await coffer().hwkeys.detect({ modulePath });
    setDetected(r);
    if (r.tokens[0]) setSerial(r.tokens[0].serial);
    return r.tokens.length === 0 ? null : `Found ${r.tokens.length} token${r.tokens.length === 1 ? '' : 's'} with ${r.module}.`;
  });

  return (
    <section aria-labelledby="hw-title">
      <h1 id="hw-title">Hardware keys</h1>
      <p className="muted">A YubiKey (PIV) or any PKCS#11 token can hold a key slot: unlocking then needs the key plugged in and its PIN. Anyone can add an enrolled key to a vault; only the token can unlock.</p>
      {status && <div className="alert ok" role="status">{status}</div>}
      {error && <div className="alert error" role="alert">{error}</div>}

      <h2>Enrolled keys</h2>
      {enrolled && enrolled.length === 0 && <div className="empty"><h2>No hardware key enrolled</h2><p>Plug in your key, press <strong>Detect</strong> below, then enroll it. Enroll a second key or keep the vault’s recovery key: keys generated on a token cannot be copied.</p></div>}
      {enrolled && enrolled.length > 0 && (
        <table aria-label="Enrolled hardware keys">
          <thead><tr><th>Name</th><th>Token</th><th>Fingerprint</th><th>Enrolled</th><th className="actions" /></tr></thead>
          <tbody>
            {enrolled.map((h) => (
              <tr key={h.id}>
                <td>{h.label}</td>
                <td>{h.tokenLabel} <span className="muted">serial {h.serial}</span></td>
                <td className="mono">{h.fingerprint}</td>
                <td>{formatDate(h.created)}</td>
                <td className="actions"><button type="button" className="btn small danger" onClick={() => void run(async () => { await coffer().hwkeys.remove({ hwkeyId: h.id }); return `Removed ${h.label} from this computer. Revoke its slot in each vault to stop it unlocking them.`; })} aria-label={`Remove ${h.label}`}>Remove</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>Detect</h2>
      <form className="row" style={{ maxWidth: 720 }} onSubmit={(e) => { e.preventDefault(); void detect(); }}>
        <input aria-label="PKCS#11 module" value={modulePath} onChange={(e) => setModulePath(e.target.value)} placeholder="PKCS#11 module (empty: libykcs11 or opensc-pkcs11 in the usual places)" />
        <button type="button" className="btn" onClick={() => void coffer().dialog.pickModule({ title: 'Choose the PKCS#11 module' }).then((r) => { if (r.path) setModulePath(r.path); }, (e: unknown) => setError(errorOf(e).message))}>Choose…</button>
        <button type="submit" className="btn" disabled={busy}>Detect</button>
      </form>
      {detected && detected.tokens.length === 0 && <p className="muted">No token found with {detected.module}. Is the key plugged in (and pcscd running on Linux)?</p>}
      {detected && detected.tokens.map((t) => (
        <div key={t.serial} className="card" style={{ marginTop: 10 }} aria-label={`Token ${t.label}`}>
          <strong>{t.label}</strong> <span className="muted">{t.manufacturer} {t.model}, serial {t.serial}</span>
          {t.keys.length === 0 ? <p className="muted">No P-256 key on this token yet.</p> : (
            <ul>{t.keys.map((k) => <li key={k.id}>{k.label || 'key'} <span className="muted">({k.curve}, id {k.id})</span> <span className="mono">{k.fingerprint}</span></li>)}</ul>
          )}
        </div>
      ))}

      {detected && detected.tokens.length > 0 && (
        <>
          <h2>Enroll</h2>
          <form onSubmit={(e) => { e.preventDefault(); void run(async () => { const k = await coffer().hwkeys.enroll({ modulePath, serial, slot, mode, label: label.trim(), pin }); setPin(''); setLabel(''); return `Enrolled ${k.label}. Fingerprint ${k.fingerprint}. You can now add it to vaults.`; }); }}>
            <label className="field"><span>Token</span>
              <select value={serial} onChange={(e) => setSerial(e.target.value)}>{detected.tokens.map((t) => <option key={t.serial} value={t.serial}>{t.label} (serial {t.serial})</option>)}</select>
            </label>
            <label className="field"><span>PIV slot</span>
              <select value={slot} onChange={(e) => setSlot(e.target.value)}>{SLOTS.map((s) => <option key={s} value={s}>{s}{s === '9d' ? ' (key management)' : ' (retired)'}</option>)}</select>
            </label>
            <fieldset>
              <legend>Key</legend>
              <label className="check"><input type="radio" name="mode" checked={mode === 'generate'} onChange={() => setMode('generate')} /><span>Generate a new P-256 key on the token (it never leaves the token)</span></label>
              <label className="check"><input type="radio" name="mode" checked={mode === 'existing'} onChange={() => setMode('existing')} /><span>Use the key already in that slot</span></label>
            </fieldset>
            <label className="field"><span>Name</span><input value={label} onChange={(e) => setLabel(e.target.value)} placeholder="Blue YubiKey" /></label>
            <label className="field"><span>PIN</span><input aria-label="PIN" type="password" value={pin} onChange={(e) => setPin(e.target.value)} autoComplete="off" /><span className="hint">Used for this step only; Coffer never stores it.</span></label>
            <button type="submit" className="btn primary" disabled={busy || !label.trim() || !pin || !serial}>{busy ? 'Enrolling…' : 'Enroll'}</button>
          </form>
        </>
      )}
    </section>
  );
}
