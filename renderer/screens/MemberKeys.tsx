import { useEffect, useState } from 'react';
import type { MemberIdentity } from '../../preload/contract';
import { Trans, useTranslation } from 'react-i18next';
import { coffer, errorText, formatDate, useAction } from '../util';

export function MemberKeys() {
  const { t } = useTranslation();
  const [list, setList] = useState<MemberIdentity[] | null>(null);
  const [label, setLabel] = useState('');
  const [reqDir, setReqDir] = useState('');
  const [reqName, setReqName] = useState('');
  const [reqId, setReqId] = useState('');

  const load = () => coffer().identities.list().then((l) => { setList(l); if (!reqId && l[0]) setReqId(l[0].id); }, (e: unknown) => setError(errorText(e)));
  const { error, status, setError, setStatus, run } = useAction(load);
  useEffect(() => void load(), []);


  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">{t('keys.title')}</h1>
      <p className="muted"><Trans i18nKey="keys.intro" components={{ code: <code /> }} /></p>
      {status && <div className="alert ok" role="status">{status}</div>}
      {error && <div className="alert error" role="alert">{error}</div>}
      {list && list.length === 0 && (
        <div className="empty">
          <h2>{t('keys.noneTitle')}</h2>
          <p>{t('keys.noneHint')}</p>
        </div>
      )}
      {list && list.length > 0 && (
        <table aria-label={t('keys.table')}>
          <thead><tr><th>{t('common.name')}</th><th>{t('keys.recipient')}</th><th>{t('common.fingerprint')}</th><th>{t('common.created')}</th><th className="actions" /></tr></thead>
          <tbody>
            {list.map((i) => (
              <tr key={i.id}>
                <td>{i.label}{i.protection === 'obfuscated-only' && <div className="hint">{t('keys.obfuscated')}</div>}</td>
                <td className="mono" style={{ maxWidth: 360 }}>{i.recipient}</td>
                <td className="mono">{i.fingerprint}</td>
                <td>{formatDate(i.created)}</td>
                <td className="actions">
                  <button type="button" className="btn small" onClick={() => void navigator.clipboard?.writeText(i.recipient).then(() => setStatus(t('keys.copied')), () => setStatus(t('keys.copyFailed')))}>{t('keys.copy')}</button>{' '}
                  <button type="button" className="btn small danger" onClick={() => void run(async () => { await coffer().identities.remove({ identityId: i.id }); return t('keys.removed', { name: i.label }); })} aria-label={t('keys.removeName', { name: i.label })}>{t('common.remove')}</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>{t('keys.createTitle')}</h2>
      <form className="row" style={{ maxWidth: 560 }} onSubmit={(e) => { e.preventDefault(); void run(async () => { const id = await coffer().identities.create({ label: label.trim() }); setLabel(''); return t('keys.created', { name: id.label, fp: id.fingerprint }); }); }}>
        <input aria-label={t('keys.keyName')} value={label} onChange={(e) => setLabel(e.target.value)} placeholder={t('keys.keyPlaceholder')} />
        <button type="submit" className="btn primary" disabled={!label.trim()}>{t('keys.create')}</button>
      </form>
      {list && list.length > 0 && (
        <>
          <h2>{t('keys.requestTitle')}</h2>
          <p className="muted">{t('keys.requestIntro')}</p>
          <form onSubmit={(e) => { e.preventDefault(); void run(async () => { await coffer().members.requestAccess({ dir: reqDir.trim(), identityId: reqId, name: reqName.trim() }); return t('keys.requested'); }); }}>
            <label className="field"><span>{t('keys.vaultFolder')}</span><span className="row"><input value={reqDir} readOnly placeholder={t('keys.chooseShared')} /><button type="button" className="btn" onClick={() => void coffer().dialog.pickFolder({ title: t('keys.chooseShared') }).then((r) => { if (r.path) setReqDir(r.path); })}>{t('common.choose')}</button></span></label>
            <label className="field"><span>{t('keys.yourName')}</span><input value={reqName} onChange={(e) => setReqName(e.target.value)} /></label>
            <label className="field"><span>{t('keys.key')}</span>
              <select value={reqId} onChange={(e) => setReqId(e.target.value)}>{list.map((i) => <option key={i.id} value={i.id}>{i.label}</option>)}</select>
            </label>
            <button type="submit" className="btn" disabled={!reqDir.trim() || !reqName.trim()}>{t('keys.request')}</button>
          </form>
        </>
      )}
    </section>
  );
}
