import { useEffect, useState } from 'react';
import type { MemberIdentity } from '../../preload/contract';
import { coffer, errorOf, formatDate, useAction } from '../util';

export function MemberKeys() {
  const [list, setList] = useState<MemberIdentity[] | null>(null);
  const [label, setLabel] = useState('');
  const [reqDir, setReqDir] = useState('');
  const [reqName, setReqName] = useState('');
  const [reqId, setReqId] = useState('');

  const load = () => coffer().identities.list().then((l) => { setList(l); if (!reqId && l[0]) setReqId(l[0].id); }, (e: unknown) => setError(errorOf(e).message));
  const { error, status, setError, setStatus, run } = useAction(load);
  useEffect(() => void load(), []);


  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">Member keys</h1>
      <p className="muted">A member key lets you open vaults others share with you without a passphrase. Its private half stays on this computer, protected by the system keychain; you share only the recipient (<code>coffer1…</code>).</p>
      {status && <div className="alert ok" role="status">{status}</div>}
      {error && <div className="alert error" role="alert">{error}</div>}
      {list && list.length === 0 && (
        <div className="empty">
          <h2>No member key yet</h2>
          <p>Create one, then send its recipient to a vault’s admin (or request access from the vault folder).</p>
        </div>
      )}
      {list && list.length > 0 && (
        <table aria-label="Member keys">
          <thead><tr><th>Name</th><th>Recipient</th><th>Fingerprint</th><th>Created</th><th className="actions" /></tr></thead>
          <tbody>
            {list.map((i) => (
              <tr key={i.id}>
                <td>{i.label}{i.protection === 'obfuscated-only' && <div className="hint">only obfuscated on this computer</div>}</td>
                <td className="mono" style={{ maxWidth: 360 }}>{i.recipient}</td>
                <td className="mono">{i.fingerprint}</td>
                <td>{formatDate(i.created)}</td>
                <td className="actions">
                  <button type="button" className="btn small" onClick={() => void navigator.clipboard?.writeText(i.recipient).then(() => setStatus('Recipient copied.'), () => setStatus('Copy failed: select the text instead.'))}>Copy recipient</button>{' '}
                  <button type="button" className="btn small danger" onClick={() => void run(async () => { await coffer().identities.remove({ identityId: i.id }); return `Removed ${i.label}. Vaults that only this key could open must be unlocked another way.`; })} aria-label={`Remove ${i.label}`}>Remove</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Create a member key</h2>
      <form className="row" style={{ maxWidth: 560 }} onSubmit={(e) => { e.preventDefault(); void run(async () => { const id = await coffer().identities.create({ label: label.trim() }); setLabel(''); return `Created ${id.label}, fingerprint ${id.fingerprint}.`; }); }}>
        <input aria-label="Key name" value={label} onChange={(e) => setLabel(e.target.value)} placeholder="Work laptop" />
        <button type="submit" className="btn primary" disabled={!label.trim()}>Create</button>
      </form>
      {list && list.length > 0 && (
        <>
          <h2>Request access to a vault</h2>
          <p className="muted">Leaves a request (your name and recipient, nothing secret) in a shared vault folder; its admin sees it under Members & sharing.</p>
          <form onSubmit={(e) => { e.preventDefault(); void run(async () => { await coffer().members.requestAccess({ dir: reqDir.trim(), identityId: reqId, name: reqName.trim() }); return 'Request left in the vault folder. Tell the admin, and compare fingerprints with them.'; }); }}>
            <label className="field"><span>Vault folder</span><span className="row"><input value={reqDir} readOnly placeholder="Choose the shared vault folder" /><button type="button" className="btn" onClick={() => void coffer().dialog.pickFolder({ title: 'Choose the shared vault folder' }).then((r) => { if (r.path) setReqDir(r.path); })}>Choose…</button></span></label>
            <label className="field"><span>Your name</span><input value={reqName} onChange={(e) => setReqName(e.target.value)} /></label>
            <label className="field"><span>Key</span>
              <select value={reqId} onChange={(e) => setReqId(e.target.value)}>{list.map((i) => <option key={i.id} value={i.id}>{i.label}</option>)}</select>
            </label>
            <button type="submit" className="btn" disabled={!reqDir.trim() || !reqName.trim()}>Request access</button>
          </form>
        </>
      )}
    </section>
  );
}
