import { useEffect, useState } from 'react';
import type { HardwareKey, Settings, TokenInfo } from '../../preload/contract';
import { coffer, errorOf, formatDate, useAction } from '../util';

/** Errors about drivers and tokens in the words of someone at a desktop, not a command line. */
const PLAIN: Record<string, string> = {
  PKCS11_MODULE: 'Coffer could not find the driver for hardware keys. Install Yubico PIV Tool or OpenSC, or press Choose… and pick the driver file (libykcs11 or opensc-pkcs11).',
  TOKEN_NOT_FOUND: 'No hardware key was found. Is it plugged in? On Linux the smart-card service (pcscd) must be running.',
  PIN_INCORRECT: 'The PIN was wrong. After too many wrong tries the key locks and needs its PUK.',
  PIN_LOCKED: 'This key’s PIN is blocked. Unblock it with the PUK (for a YubiKey: ykman piv access unblock-pin), then try again.',
};
function plainWords(e: unknown): { code: string; message: string } {
  const err = errorOf(e);
  return { code: err.code, message: PLAIN[err.code] ?? err.message.replace(/,? or (pass|give the module path with) --module[^;.]*/g, '') };
}

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

  const load = () => coffer().hwkeys.list().then(setEnrolled, (e: unknown) => list.setError(errorOf(e).message));
  // Each form shows its own errors and messages, next to it; a success clears them.
  const list = useAction(load);
  const det = useAction(load);
  const enr = useAction(load);
  const busy = list.busy || det.busy || enr.busy;
  useEffect(() => void load(), []);

  const scan = async () => {
    try {
      const r = await coffer().hwkeys.detect({ modulePath });
      setDetected(r);
      if (r.tokens[0] && !r.tokens.some((t) => t.serial === serial)) setSerial(r.tokens[0].serial);
      return r;
    } catch (e) {
      throw plainWords(e);
    }
  };
  const detect = () => det.run(async () => {
    const r = await scan();
    return r.tokens.length === 0 ? null : `Found ${r.tokens.length} token${r.tokens.length === 1 ? '' : 's'}.`;
  });
  const enroll = () => enr.run(async () => {
    try {
      const k = await coffer().hwkeys.enroll({ modulePath, serial, slot, mode, label: label.trim(), pin });
      setPin('');
      setLabel('');
      await scan(); // the token card shows the key it now holds
      return `Enrolled ${k.label}. Fingerprint ${k.fingerprint}. You can now add it to vaults.`;
    } catch (e) {
      throw plainWords(e);
    }
  });

  return (
    <section aria-labelledby="hw-title">
      <h1 id="hw-title">Hardware keys</h1>
      <p className="muted">A YubiKey (PIV) or any PKCS#11 token can hold a key slot: unlocking then needs the key plugged in and its PIN. Anyone can add an enrolled key to a vault; only the token can unlock.</p>
      <h2>Enrolled keys</h2>
      {list.status && <div className="alert ok" role="status">{list.status}</div>}
      {list.error && <div className="alert error" role="alert">{list.error}</div>}
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
                <td className="actions"><button type="button" className="btn small danger" onClick={() => void list.run(async () => { await coffer().hwkeys.remove({ hwkeyId: h.id }); return `Removed ${h.label} from this computer. Revoke its slot in each vault to stop it unlocking them.`; })} aria-label={`Remove ${h.label}`}>Remove</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>Find your key</h2>
      <p className="muted">Plug the key in and press <strong>Detect</strong>. Coffer talks to it through a small driver file that comes with Yubico PIV Tool (libykcs11) or OpenSC (opensc-pkcs11); it finds them where they are usually installed. If yours is elsewhere, press <strong>Choose…</strong> and pick that file.</p>
      <form className="row" style={{ maxWidth: 720 }} onSubmit={(e) => { e.preventDefault(); void detect(); }}>
        <input aria-label="PKCS#11 module" value={modulePath} readOnly placeholder="Driver: found automatically" title={modulePath || 'Found automatically'} />
        <button type="button" className="btn" onClick={() => void coffer().dialog.pickModule({ title: 'Choose the driver file for your hardware key (libykcs11 or opensc-pkcs11)' }).then((r) => { if (r.path) setModulePath(r.path); }, (e: unknown) => det.setError(errorOf(e).message))}>Choose…</button>
        {modulePath && <button type="button" className="btn" onClick={() => setModulePath('')}>Use automatic</button>}
        <button type="submit" className="btn" disabled={busy}>Detect</button>
      </form>
      {det.status && <div className="alert ok" role="status">{det.status}</div>}
      {det.error && <div className="alert error" role="alert">{det.error}</div>}
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
          <form onSubmit={(e) => { e.preventDefault(); void enroll(); }}>
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
            {enr.error && <div className="alert error" role="alert">{enr.error}</div>}
            {enr.status && <div className="alert ok" role="status">{enr.status}</div>}
            <button type="submit" className="btn primary" disabled={busy || !label.trim() || !pin || !serial}>{enr.busy ? 'Enrolling…' : 'Enroll'}</button>
          </form>
        </>
      )}
    </section>
  );
}
