import { useEffect, useState } from 'react';
import type { TransitSettingsInput } from '../../preload/contract';
import { useTranslation } from 'react-i18next';
import { coffer, errorText, inLanguage } from '../util';

const EMPTY: TransitSettingsInput = { address: '', namespace: '', mount: 'transit', keyName: '', caCertPath: '', clientCertPath: '', clientKeyPath: '', auth: { method: 'token' } };

export function TransitSettingsScreen() {
  const { t } = useTranslation();
  const [form, setForm] = useState<TransitSettingsInput>(EMPTY);
  const [secret, setSecret] = useState('');
  const [stored, setStored] = useState(false);
  const [allowlist, setAllowlist] = useState<string[]>([]);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    coffer().transit.get().then((cur) => {
      setForm({ ...cur, auth: cur.auth });
      setStored(cur.secretStored);
      setAllowlist(cur.allowlist);
    }, (e: unknown) => setResult({ ok: false, text: errorText(e) }));
  }, []);

  const withSecret = (): TransitSettingsInput => {
    const a = form.auth;
    if (a.method === 'token') return { ...form, auth: secret ? { method: 'token', token: secret } : { method: 'token' } };
    if (a.method === 'approle') return { ...form, auth: secret ? { method: 'approle', roleId: a.roleId, secretId: secret } : { method: 'approle', roleId: a.roleId } };
    return form;
  };

  const save = async () => {
    setBusy(true);
    setResult(null);
    try {
      const saved = await coffer().transit.set(withSecret());
      setStored(saved.secretStored);
      setAllowlist(saved.allowlist);
      setSecret('');
      setResult({ ok: true, text: t('transit.saved') });
    } catch (e) {
      setResult({ ok: false, text: errorText(e) });
    } finally {
      setBusy(false);
    }
  };

  const test = async () => {
    setBusy(true);
    setResult(null);
    try {
      const r = await coffer().transit.test(withSecret());
      setResult({ ok: r.ok, text: inLanguage(r.ok ? t('transit.connected', { address: r.address }) : t('errors.TRANSIT'), r.message) });
    } catch (e) {
      setResult({ ok: false, text: errorText(e) });
    } finally {
      setBusy(false);
    }
  };

  const set = (patch: Partial<TransitSettingsInput>) => setForm({ ...form, ...patch });
  const method = form.auth.method;

  return (
    <section aria-labelledby="transit-title">
      <h1 id="transit-title">{t('transit.title')}</h1>
      <p className="muted">{t('transit.intro')}</p>
      <form onSubmit={(e) => { e.preventDefault(); void save(); }}>
        <label className="field"><span>{t('transit.address')}</span><input aria-label={t('transit.address')} value={form.address} onChange={(e) => set({ address: e.target.value })} placeholder={t('transit.addressPlaceholder')} /><span className="hint">{t('transit.addressHint')}</span></label>
        <div className="row" style={{ maxWidth: 560 }}>
          <label className="field" style={{ flex: 1 }}><span>{t('transit.mount')}</span><input value={form.mount} onChange={(e) => set({ mount: e.target.value })} /></label>
          <label className="field" style={{ flex: 1 }}><span>{t('transit.keyName')}</span><input value={form.keyName} onChange={(e) => set({ keyName: e.target.value })} placeholder={t('transit.keyPlaceholder')} /></label>
        </div>
        <label className="field"><span>{t('transit.namespace')}</span><input value={form.namespace} onChange={(e) => set({ namespace: e.target.value })} /></label>
        <fieldset>
          <legend>{t('transit.tls')}</legend>
          <label className="field"><span>{t('transit.ca')}</span><input value={form.caCertPath} onChange={(e) => set({ caCertPath: e.target.value })} placeholder={t('transit.caPlaceholder')} /></label>
          <label className="field"><span>{t('transit.clientCert')}</span><input value={form.clientCertPath} onChange={(e) => set({ clientCertPath: e.target.value })} /></label>
          <label className="field"><span>{t('transit.clientKey')}</span><input value={form.clientKeyPath} onChange={(e) => set({ clientKeyPath: e.target.value })} /></label>
        </fieldset>
        <fieldset>
          <legend>{t('transit.signIn')}</legend>
          <label className="check"><input type="radio" name="auth" checked={method === 'token'} onChange={() => set({ auth: { method: 'token' } })} /><span>{t('transit.token')}</span></label>
          <label className="check"><input type="radio" name="auth" checked={method === 'approle'} onChange={() => set({ auth: { method: 'approle', roleId: '' } })} /><span>{t('transit.approle')}</span></label>
          <label className="check"><input type="radio" name="auth" checked={method === 'cert'} onChange={() => set({ auth: { method: 'cert' } })} /><span>{t('transit.cert')}</span></label>
          {form.auth.method === 'approle' && (
            <label className="field"><span>{t('transit.roleId')}</span><input value={form.auth.roleId} onChange={(e) => set({ auth: { method: 'approle', roleId: e.target.value } })} /></label>
          )}
          {method !== 'cert' && (
            <label className="field">
              <span>{method === 'token' ? t('transit.token') : t('transit.secretId')}</span>
              <input aria-label={method === 'token' ? t('transit.tokenAria') : t('transit.secretAria')} type="password" value={secret} onChange={(e) => setSecret(e.target.value)} autoComplete="off" placeholder={stored ? t('transit.stored') : ''} />
              <span className="hint">{t('transit.keychain')}</span>
            </label>
          )}
        </fieldset>
        {result && <div className={`alert ${result.ok ? 'ok' : 'error'}`} role={result.ok ? 'status' : 'alert'}>{result.text}</div>}
        <div className="toolbar">
          <button type="button" className="btn" disabled={busy || !form.address} onClick={() => void test()}>{t('transit.test')}</button>
          <button type="submit" className="btn primary" disabled={busy || !form.address}>{t('common.save')}</button>
        </div>
      </form>
      {allowlist.length > 0 && (
        <>
          <h2>{t('transit.allowed')}</h2>
          <ul>{allowlist.map((a) => <li key={a} className="mono">{a}</li>)}</ul>
        </>
      )}
    </section>
  );
}
