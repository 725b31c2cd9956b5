import { useCallback, useEffect, useState } from 'react';
import type { AccessRequest, SlotInfo, VaultSummary } from '../../preload/contract';
import { coffer, errorOf, formatDate, slotTypeLabel, useAction } from '../util';

export function Members({ vault, onChanged }: { vault: VaultSummary; onChanged: () => Promise<void> }) {
  const [slots, setSlots] = useState<SlotInfo[]>([]);
  const [pending, setPending] = useState<AccessRequest[]>([]);
  const [recipient, setRecipient] = useState('');
  const [label, setLabel] = useState('');
  const [revoking, setRevoking] = useState<SlotInfo | null>(null);
  const [reencrypt, setReencrypt] = useState(false);

  // `load` is defined just below; the action only calls it after a click.
  const { busy, error, status, setError, run: act } = useAction(async () => {
    await load();
    await onChanged();
  });
  const load = useCallback(async () => {
    try {
      const r = await coffer().members.list({ vaultId: vault.id });
      setSlots(r.slots);
      setPending(r.pending);
    } catch (e) {
      setError(errorOf(e).message);
    }
  }, [vault.id]);
  useEffect(() => void load(), [load]);
  useEffect(() => coffer().on.accessRequests((r) => {
    if (r.vaultId === vault.id) setPending(r.requests);
  }), [vault.id]);

  const grant = (r: string, l: string) =>
    act(async () => {
      const slot = await coffer().members.grant({ vaultId: vault.id, recipient: r, label: l });
      setRecipient('');
      setLabel('');
      return `Granted ${slot.label || 'the member'} (fingerprint ${slot.fingerprint ?? '—'}). Compare the fingerprint with them over a channel you trust.`;
    });

  return (
    <div>
      {status && <div className="alert ok" role="status">{status}</div>}
      {error && <div className="alert error" role="alert">{error}</div>}
      <h2>Key slots</h2>
      <p className="muted">Each slot can unlock this vault. Compare fingerprints with people before you trust a slot.</p>
      <table aria-label="Key slots">
        <thead><tr><th>Type</th><th>Label</th><th>Fingerprint</th><th>Added</th><th className="actions">Actions</th></tr></thead>
        <tbody>
          {slots.map((s) => (
            <tr key={s.id} aria-label={`Slot ${s.label || s.type}`}>
              <td>{slotTypeLabel[s.type] ?? s.type}</td>
              <td>{s.label || '—'}</td>
              <td className="mono">{s.fingerprint ?? '—'}</td>
              <td>{formatDate(s.created)}</td>
              <td className="actions">
                <button type="button" className="btn small danger" disabled={slots.length <= 1} onClick={() => { setRevoking(s); setReencrypt(false); }} aria-label={`Revoke ${s.label || s.type}`}>Revoke…</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      {revoking && (
        <form className="card" style={{ marginTop: 14 }} onSubmit={(e) => { e.preventDefault(); const s = revoking; void act(async () => { const r = await coffer().members.revoke({ vaultId: vault.id, slotId: s.id, reencrypt }); setRevoking(null); return `Revoked ${s.label || s.type}. The vault key was rotated${r.rotatedTo !== null ? ` to epoch ${r.rotatedTo}` : ''}${reencrypt ? ` and ${r.reencryptedFiles} files were re-encrypted` : ''}.`; }); }} aria-label="Revoke slot">
          <h3 style={{ marginTop: 0 }}>Revoke “{revoking.label || slotTypeLabel[revoking.type]}”</h3>
          <p>Revoking removes the slot and <strong>rotates</strong> the vault key: the removed key cannot unlock the vault again, nor read any file added from now on.</p>
          <fieldset>
            <legend>Files they could already read</legend>
            <label className="check"><input type="radio" name="reenc" checked={!reencrypt} onChange={() => setReencrypt(false)} /><span><strong>Rotate only</strong> (fast). Someone who already opened files may have kept those files’ keys, and with a copy of the vault folder could still decrypt those same versions.</span></label>
            <label className="check"><input type="radio" name="reenc" checked={reencrypt} onChange={() => setReencrypt(true)} /><span><strong>Rotate and re-encrypt every file</strong> (slower: rewrites all content). Old keys then open nothing, as long as the old blobs are gone from every synced copy.</span></label>
          </fieldset>
          <div className="toolbar">
            <button type="submit" className="btn danger" disabled={busy}>{busy ? 'Revoking…' : 'Revoke'}</button>
            <button type="button" className="btn" onClick={() => setRevoking(null)}>Cancel</button>
          </div>
        </form>
      )}

      <h2>Pending access requests</h2>
      {pending.length === 0 ? (
        <p className="muted">None. Someone who wants access opens this vault folder in Coffer and chooses “Request access”; their request appears here for you to check and grant.</p>
      ) : (
        <table aria-label="Pending access requests">
          <thead><tr><th>Name</th><th>Fingerprint</th><th>Asked</th><th className="actions">Actions</th></tr></thead>
          <tbody>
            {pending.map((p) => (
              <tr key={p.id}>
                <td>{p.name}</td>
                <td className="mono">{p.fingerprint ?? '—'}</td>
                <td>{formatDate(p.created)}</td>
                <td className="actions">
                  <button type="button" className="btn small primary" disabled={busy} onClick={() => void grant(p.recipient, p.name)}>Grant</button>{' '}
                  <button type="button" className="btn small" disabled={busy} onClick={() => void act(async () => { await coffer().members.dismissRequest({ vaultId: vault.id, requestId: p.id }); return `Dismissed ${p.name}'s request.`; })}>Dismiss</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>Grant a member</h2>
      <form onSubmit={(e) => { e.preventDefault(); void grant(recipient.trim(), label.trim()); }}>
        <label className="field">
          <span>Their member key (recipient)</span>
          <input value={recipient} onChange={(e) => setRecipient(e.target.value)} placeholder="coffer1…" className="mono" />
          <span className="hint">They find it under Member keys in their Coffer, or with <code>coffer keygen</code>.</span>
        </label>
        <label className="field"><span>Name</span><input value={label} onChange={(e) => setLabel(e.target.value)} placeholder="Alex (laptop)" /></label>
        <button type="submit" className="btn primary" disabled={busy || !recipient.trim()}>Grant access</button>
      </form>

      <h2>Rotate the vault key</h2>
      <p className="muted">Makes a new vault key, wraps it for every remaining slot and re-encrypts the small metadata records. File contents are not touched, so it is quick.</p>
      <button type="button" className="btn" disabled={busy} onClick={() => void act(async () => { const r = await coffer().members.rotate({ vaultId: vault.id }); return `Rotated to epoch ${r.epoch}; ${r.records} records rewrapped.`; })}>Rotate now</button>
    </div>
  );
}
