/**
 * Issue 11, item 5: admin tasks that were only in the CLI. Add a hardware key or a Vault Transit slot
 * to this vault, change its passphrase, and run a health check (verify; repair only after a preview
 * of what it would remove). Each section shows its own result and errors, next to its button.
 */
import { useEffect, useState } from 'react';
import type { HardwareKey, TransitSettings, VaultSummary } from '../../preload/contract';
import { useTranslation } from 'react-i18next';
import { coffer, formatBytes, useAction } from '../util';
import { STRONG_ENOUGH, StrengthMeter, strengthOf } from '../strength';

type Report = Awaited<ReturnType<Window['coffer']['admin']['verify']>>;

export function VaultAdmin({ vault, onChanged }: { vault: VaultSummary; onChanged: () => Promise<void> }) {
  const { t } = useTranslation();
  const [hwkeys, setHwkeys] = useState<HardwareKey[]>([]);
  const [transit, setTransit] = useState<TransitSettings | null>(null);
  const [hwSel, setHwSel] = useState('');
  const [pass, setPass] = useState('');
  const [pass2, setPass2] = useState('');
  const [insist, setInsist] = useState(false);
  const [report, setReport] = useState<Report | null>(null);
  const keys = useAction(onChanged);
  const pw = useAction(onChanged);
  const health = useAction(async () => undefined);

  useEffect(() => {
    coffer().hwkeys.list().then((l) => { setHwkeys(l); setHwSel(l[0]?.id ?? ''); }, () => undefined);
    coffer().transit.get().then(setTransit, () => undefined);
  }, []);

  const fps = new Set(vault.slots.map((s) => s.fingerprint));
  const candidates = hwkeys.filter((h) => !fps.has(h.fingerprint));
  const hasTransit = vault.slots.some((s) => s.type === 'vault-transit');
  const transitReady = !!transit && transit.address !== '' && transit.keyName !== '';
  const weak = pass !== '' && strengthOf(pass, [vault.name]).score < STRONG_ENOUGH;
  const repairable = report?.problems.filter((p) => p.repairable) ?? [];

  return (
    <div>
      <section className="card" aria-labelledby="addkey-title">
        <h2 id="addkey-title" style={{ marginTop: 0 }}>{t('admin.addTitle')}</h2>
        <p className="muted">{t('admin.addIntro')}</p>
        {candidates.length > 0 ? (
          <form className="row" onSubmit={(e) => {
            e.preventDefault();
            const h = hwkeys.find((x) => x.id === (hwSel || candidates[0]?.id));
            if (h) void keys.run(async () => {
              const s = await coffer().members.grant({ vaultId: vault.id, recipient: h.recipient, label: h.label });
              return t('admin.addedHw', { name: s.label, fp: s.fingerprint ?? '—' });
            });
          }}>
            <select aria-label={t('admin.hwToAdd')} value={hwSel || candidates[0]?.id} onChange={(e) => setHwSel(e.target.value)}>
              {candidates.map((h) => <option key={h.id} value={h.id}>{t('admin.hwOption', { label: h.label, token: h.tokenLabel, serial: h.serial })}</option>)}
            </select>
            <button type="submit" className="btn" disabled={keys.busy}>{t('admin.addHw')}</button>
          </form>
        ) : (
          <p className="hint">{hwkeys.length === 0 ? t('admin.noHw') : t('admin.allHw')}</p>
        )}
        {transitReady && !hasTransit && (
          <div className="row" style={{ marginTop: 8 }}>
            <button type="button" className="btn" disabled={keys.busy} onClick={() => void keys.run(async () => {
              const s = await coffer().admin.grantTransit({ vaultId: vault.id });
              return t('admin.addedTransit', { name: s.fingerprint ?? s.label });
            })}>{t('admin.addTransit', { key: transit?.keyName ?? '' })}</button>
          </div>
        )}
        {!transitReady && <p className="hint">{t('admin.noTransit')}</p>}
        {keys.error && <div className="alert error" role="alert">{keys.error}</div>}
        {keys.status && <div className="alert ok" role="status">{keys.status}</div>}
      </section>

      <section className="card" aria-labelledby="pw-title">
        <h2 id="pw-title" style={{ marginTop: 0 }}>{t('admin.pwTitle')}</h2>
        <p className="muted">{t('admin.pwIntro')}</p>
        <form onSubmit={(e) => {
          e.preventDefault();
          if (pass.length < 8) return pw.setError(t('create.err.short'));
          if (pass !== pass2) return pw.setError(t('create.err.mismatch'));
          if (weak && !insist) return pw.setError(t('admin.weak'));
          void pw.run(async () => {
            await coffer().admin.passwd({ vaultId: vault.id, passphrase: pass });
            setPass('');
            setPass2('');
            setInsist(false);
            return t('admin.changed');
          });
        }}>
          <label className="field"><span>{t('admin.newPass')}</span><input type="password" value={pass} onChange={(e) => { setPass(e.target.value); setInsist(false); }} autoComplete="new-password" /></label>
          <StrengthMeter passphrase={pass} userInputs={[vault.name]} />
          <label className="field"><span>{t('admin.newPassAgain')}</span><input type="password" value={pass2} onChange={(e) => setPass2(e.target.value)} autoComplete="new-password" /></label>
          {weak && <label className="check"><input type="checkbox" checked={insist} onChange={(e) => setInsist(e.target.checked)} /><span>{t('admin.insist')}</span></label>}
          {pw.error && <div className="alert error" role="alert">{pw.error}</div>}
          {pw.status && <div className="alert ok" role="status">{pw.status}</div>}
          <button type="submit" className="btn primary" disabled={pw.busy || !pass || !pass2}>{pw.busy ? t('admin.changing') : t('admin.change')}</button>
        </form>
      </section>

      <section className="card" aria-labelledby="health-title">
        <h2 id="health-title" style={{ marginTop: 0 }}>{t('admin.healthTitle')}</h2>
        <p className="muted">{t('admin.healthIntro')}</p>
        <div className="toolbar">
          <button type="button" className="btn" disabled={health.busy} onClick={() => void health.run(async () => {
            setReport(null);
            const r = await coffer().admin.verify({ vaultId: vault.id, repair: false });
            setReport(r);
            return r.ok ? t('admin.allGood', { records: r.records, blobs: r.blobs, size: formatBytes(r.bytes) }) : null;
          })}>{health.busy ? t('admin.checking') : t('admin.check')}</button>
        </div>
        {health.error && <div className="alert error" role="alert">{health.error}</div>}
        {health.status && <div className="alert ok" role="status">{health.status}</div>}
        {report && report.problems.filter((p) => p.severity !== 'info').length > 0 && (
          <section aria-label={t('admin.problems')}>
            <h3>{t('admin.problemsN', { count: report.problems.filter((p) => p.severity !== 'info').length })}</h3>
            <ul>
              {report.problems.filter((p) => p.severity !== 'info').map((p, i) => (
                <li key={i}><strong>{t(`admin.severity.${p.severity}`)}</strong>: {p.path ?? t('admin.wholeVault')}: {p.message}{p.repairable ? t('admin.repairRemoves') : ''}</li>
              ))}
            </ul>
          </section>
        )}
        {repairable.length > 0 && (
          <section className="card" aria-label={t('admin.preview')}>
            <p>{t('admin.wouldRemove', { count: repairable.length })}</p>
            <ul>{repairable.map((p, i) => <li key={i} className="mono">{p.path ?? p.message}</li>)}</ul>
            <button type="button" className="btn danger" disabled={health.busy} onClick={() => void health.run(async () => {
              const r = await coffer().admin.verify({ vaultId: vault.id, repair: true });
              setReport(r);
              return t('admin.removed', { count: r.repaired.length });
            })}>{t('admin.repair', { count: repairable.length })}</button>
          </section>
        )}
      </section>
    </div>
  );
}
