import { useCallback, useEffect, useState } from 'react';
import type { AccessRequest, SlotInfo, VaultSummary } from '../../preload/contract';
import { Trans, useTranslation } from 'react-i18next';
import { coffer, errorText, formatDate, slotLabel, slotTypeLabel, useAction } from '../util';

export function Members({ vault, onChanged }: { vault: VaultSummary; onChanged: () => Promise<void> }) {
  const { t } = useTranslation();
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
      setError(errorText(e));
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
      return t('members.granted', { name: slot.label || t('members.theMember'), fp: slot.fingerprint ?? '—' });
    });

  return (
    <div>
      {status && <div className="alert ok" role="status">{status}</div>}
      {error && <div className="alert error" role="alert">{error}</div>}
      <h2>{t('members.slots')}</h2>
      <p className="muted">{t('members.slotsIntro')}</p>
      <table aria-label={t('members.slots')}>
        <thead><tr><th>{t('members.type')}</th><th>{t('members.label')}</th><th>{t('common.fingerprint')}</th><th>{t('members.added')}</th><th className="actions">{t('common.actions')}</th></tr></thead>
        <tbody>
          {slots.map((s) => (
            <tr key={s.id} aria-label={t('members.slotLabel', { name: slotLabel(s) || s.type })}>
              <td>{slotTypeLabel(s.type)}</td>
              <td>{slotLabel(s) || '—'}</td>
              <td className="mono">{s.fingerprint ?? '—'}</td>
              <td>{formatDate(s.created)}</td>
              <td className="actions">
                <button type="button" className="btn small danger" disabled={slots.length <= 1} onClick={() => { setRevoking(s); setReencrypt(false); }} aria-label={t('members.revokeName', { name: slotLabel(s) || s.type })}>{t('members.revoke')}</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      {revoking && (
        <form className="card" style={{ marginTop: 14 }} onSubmit={(e) => { e.preventDefault(); const s = revoking; void act(async () => { const r = await coffer().members.revoke({ vaultId: vault.id, slotId: s.id, reencrypt }); setRevoking(null); const name = slotLabel(s) || slotTypeLabel(s.type); return `${r.rotatedTo !== null ? t('members.revokedEpoch', { name, epoch: r.rotatedTo }) : t('members.revoked', { name })}${reencrypt ? t('members.revokedFiles', { count: r.reencryptedFiles }) : ''}`; }); }} aria-label={t('members.revokeForm')}>
          <h3 style={{ marginTop: 0 }}>{t('members.revokeTitle', { name: slotLabel(revoking) || slotTypeLabel(revoking.type) })}</h3>
          <p><Trans i18nKey="members.revokeIntro" components={{ b: <strong /> }} /></p>
          <fieldset>
            <legend>{t('members.already')}</legend>
            <label className="check"><input type="radio" name="reenc" checked={!reencrypt} onChange={() => setReencrypt(false)} /><span><Trans i18nKey="members.rotateOnly" components={{ b: <strong /> }} /></span></label>
            <label className="check"><input type="radio" name="reenc" checked={reencrypt} onChange={() => setReencrypt(true)} /><span><Trans i18nKey="members.rotateReenc" components={{ b: <strong /> }} /></span></label>
          </fieldset>
          <div className="toolbar">
            <button type="submit" className="btn danger" disabled={busy}>{busy ? t('members.revoking') : t('members.revokeBtn')}</button>
            <button type="button" className="btn" onClick={() => setRevoking(null)}>{t('common.cancel')}</button>
          </div>
        </form>
      )}

      <h2>{t('members.pending')}</h2>
      {pending.length === 0 ? (
        <p className="muted">{t('members.pendingNone')}</p>
      ) : (
        <table aria-label={t('members.pending')}>
          <thead><tr><th>{t('common.name')}</th><th>{t('common.fingerprint')}</th><th>{t('members.asked')}</th><th className="actions">{t('common.actions')}</th></tr></thead>
          <tbody>
            {pending.map((p) => (
              <tr key={p.id}>
                <td>{p.name}</td>
                <td className="mono">{p.fingerprint ?? '—'}</td>
                <td>{formatDate(p.created)}</td>
                <td className="actions">
                  <button type="button" className="btn small primary" disabled={busy} onClick={() => void grant(p.recipient, p.name)}>{t('members.grant')}</button>{' '}
                  <button type="button" className="btn small" disabled={busy} onClick={() => void act(async () => { await coffer().members.dismissRequest({ vaultId: vault.id, requestId: p.id }); return t('members.dismissed', { name: p.name }); })}>{t('common.dismiss')}</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>{t('members.grantTitle')}</h2>
      <form onSubmit={(e) => { e.preventDefault(); void grant(recipient.trim(), label.trim()); }}>
        <label className="field">
          <span>{t('members.theirKey')}</span>
          <input value={recipient} onChange={(e) => setRecipient(e.target.value)} placeholder="coffer1…" className="mono" />
          <span className="hint"><Trans i18nKey="members.theirKeyHint" components={{ code: <code /> }} /></span>
        </label>
        <label className="field"><span>{t('common.name')}</span><input value={label} onChange={(e) => setLabel(e.target.value)} placeholder={t('members.namePlaceholder')} /></label>
        <button type="submit" className="btn primary" disabled={busy || !recipient.trim()}>{t('members.grantAccess')}</button>
      </form>

      <h2>{t('members.rotateTitle')}</h2>
      <p className="muted">{t('members.rotateIntro')}</p>
      <button type="button" className="btn" disabled={busy} onClick={() => void act(async () => { const r = await coffer().members.rotate({ vaultId: vault.id }); return t('members.rotated', { epoch: r.epoch, records: r.records }); })}>{t('members.rotateNow')}</button>
    </div>
  );
}
