import { useEffect, useState } from 'react';
import type { TransitSettingsInput } from '../../preload/contract';
import { coffer, errorOf } from '../util';

const EMPTY: TransitSettingsInput = { address: '', namespace: '', mount: 'transit', keyName: '', caCertPath: '', clientCertPath: '', clientKeyPath: '', auth: { method: 'token' } };

export function TransitSettingsScreen() {
  const [form, setForm] = useState<TransitSettingsInput>(EMPTY);
  const [secret, setSecret] = useState('');
  const [stored, setStored] = useState(false);
  const [allowlist, setAllowlist] = useState<string[]>([]);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    coffer().transit.get().then((t) => {
      setForm({ ...t, auth: t.auth });
      setStored(t.secretStored);
      setAllowlist(t.allowlist);
    }, (e: unknown) => setResult({ ok: false, text: errorOf(e).message }));
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
      const t = await coffer().transit.set(withSecret());
      setStored(t.secretStored);
      setAllowlist(t.allowlist);
      setSecret('');
      setResult({ ok: true, text: 'Saved. This address is now on the allowlist of Vault servers this computer contacts.' });
    } catch (e) {
      setResult({ ok: false, text: errorOf(e).message });
    } finally {
      setBusy(false);
    }
  };

  const test = async () => {
    setBusy(true);
    setResult(null);
    try {
      const r = await coffer().transit.test(withSecret());
      setResult({ ok: r.ok, text: r.message });
    } catch (e) {
      setResult({ ok: false, text: errorOf(e).message });
    } finally {
      setBusy(false);
    }
  };

  const set = (patch: Partial<TransitSettingsInput>) => setForm({ ...form, ...patch });
  const method = form.auth.method;

  return (
    <section aria-labelledby="transit-title">
      <h1 id="transit-title">Vault connection</h1>
      <p className="muted">Connect to HashiCorp Vault’s Transit engine so your organisation’s Vault wraps vault keys: unlocking asks Vault, which checks its policy and audits the request. Coffer contacts only addresses saved here, never one a vault file names.</p>
      <form onSubmit={(e) => { e.preventDefault(); void save(); }}>
        <label className="field"><span>Address</span><input aria-label="Address" value={form.address} onChange={(e) => set({ address: e.target.value })} placeholder="https://vault.example.com:8200" /><span className="hint">HTTPS is required except on this computer (127.0.0.1).</span></label>
        <div className="row" style={{ maxWidth: 560 }}>
          <label className="field" style={{ flex: 1 }}><span>Transit mount</span><input value={form.mount} onChange={(e) => set({ mount: e.target.value })} /></label>
          <label className="field" style={{ flex: 1 }}><span>Key name</span><input value={form.keyName} onChange={(e) => set({ keyName: e.target.value })} placeholder="coffer" /></label>
        </div>
        <label className="field"><span>Namespace (Vault Enterprise)</span><input value={form.namespace} onChange={(e) => set({ namespace: e.target.value })} /></label>
        <fieldset>
          <legend>TLS</legend>
          <label className="field"><span>CA certificate (PEM file)</span><input value={form.caCertPath} onChange={(e) => set({ caCertPath: e.target.value })} placeholder="empty: the system’s trusted CAs" /></label>
          <label className="field"><span>Client certificate (mTLS)</span><input value={form.clientCertPath} onChange={(e) => set({ clientCertPath: e.target.value })} /></label>
          <label className="field"><span>Client key (mTLS)</span><input value={form.clientKeyPath} onChange={(e) => set({ clientKeyPath: e.target.value })} /></label>
        </fieldset>
        <fieldset>
          <legend>Sign in with</legend>
          <label className="check"><input type="radio" name="auth" checked={method === 'token'} onChange={() => set({ auth: { method: 'token' } })} /><span>Token</span></label>
          <label className="check"><input type="radio" name="auth" checked={method === 'approle'} onChange={() => set({ auth: { method: 'approle', roleId: '' } })} /><span>AppRole</span></label>
          <label className="check"><input type="radio" name="auth" checked={method === 'cert'} onChange={() => set({ auth: { method: 'cert' } })} /><span>TLS certificate (uses the client certificate above)</span></label>
          {form.auth.method === 'approle' && (
            <label className="field"><span>Role ID</span><input value={form.auth.roleId} onChange={(e) => set({ auth: { method: 'approle', roleId: e.target.value } })} /></label>
          )}
          {method !== 'cert' && (
            <label className="field">
              <span>{method === 'token' ? 'Token' : 'Secret ID'}</span>
              <input aria-label={method === 'token' ? 'Vault token' : 'AppRole secret ID'} type="password" value={secret} onChange={(e) => setSecret(e.target.value)} autoComplete="off" placeholder={stored ? 'stored (leave empty to keep)' : ''} />
              <span className="hint">Kept in the system keychain; never shown again.</span>
            </label>
          )}
        </fieldset>
        {result && <div className={`alert ${result.ok ? 'ok' : 'error'}`} role={result.ok ? 'status' : 'alert'}>{result.text}</div>}
        <div className="toolbar">
          <button type="button" className="btn" disabled={busy || !form.address} onClick={() => void test()}>Test connection</button>
          <button type="submit" className="btn primary" disabled={busy || !form.address}>Save</button>
        </div>
      </form>
      {allowlist.length > 0 && (
        <>
          <h2>Allowed Vault addresses</h2>
          <ul>{allowlist.map((a) => <li key={a} className="mono">{a}</li>)}</ul>
        </>
      )}
    </section>
  );
}
