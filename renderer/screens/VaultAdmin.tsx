/**
 * Issue 11, item 5: admin tasks that were only in the CLI. Add a hardware key or a Vault Transit slot
 * to this vault, change its passphrase, and run a health check (verify; repair only after a preview
 * of what it would remove). Each section shows its own result and errors, next to its button.
 */
import { useEffect, useState } from 'react';
import type { HardwareKey, TransitSettings, VaultSummary } from '../../preload/contract';
import { coffer, formatBytes, useAction } from '../util';
import { STRONG_ENOUGH, StrengthMeter, strengthOf } from '../strength';

type Report = Awaited<ReturnType<Window['coffer']['admin']['verify']>>;

export function VaultAdmin({ vault, onChanged }: { vault: VaultSummary; onChanged: () => Promise<void> }) {
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
        <h2 id="addkey-title" style={{ marginTop: 0 }}>Add a key to this vault</h2>
        <p className="muted">A new key slot unlocks the vault too. Nothing is re-encrypted.</p>
        {candidates.length > 0 ? (
          <form className="row" onSubmit={(e) => {
            e.preventDefault();
            const h = hwkeys.find((x) => x.id === (hwSel || candidates[0]?.id));
            if (h) void keys.run(async () => {
              const s = await coffer().members.grant({ vaultId: vault.id, recipient: h.recipient, label: h.label });
              return `Added hardware key ${s.label} (fingerprint ${s.fingerprint ?? '—'}).`;
            });
          }}>
            <select aria-label="Hardware key to add" value={hwSel || candidates[0]?.id} onChange={(e) => setHwSel(e.target.value)}>
              {candidates.map((h) => <option key={h.id} value={h.id}>{h.label} ({h.tokenLabel}, serial {h.serial})</option>)}
            </select>
            <button type="submit" className="btn" disabled={keys.busy}>Add hardware key</button>
          </form>
        ) : (
          <p className="hint">{hwkeys.length === 0 ? 'No hardware key is enrolled on this computer: enroll one under Hardware keys first.' : 'Every hardware key enrolled here is already a key of this vault.'}</p>
        )}
        {transitReady && !hasTransit && (
          <div className="row" style={{ marginTop: 8 }}>
            <button type="button" className="btn" disabled={keys.busy} onClick={() => void keys.run(async () => {
              const s = await coffer().admin.grantTransit({ vaultId: vault.id });
              return `Added a Vault Transit slot (${s.fingerprint ?? s.label}). Unlocking with it asks Vault.`;
            })}>Add Vault Transit slot ({transit?.keyName})</button>
          </div>
        )}
        {!transitReady && <p className="hint">Vault Transit is not set up on this computer (Vault connection).</p>}
        {keys.error && <div className="alert error" role="alert">{keys.error}</div>}
        {keys.status && <div className="alert ok" role="status">{keys.status}</div>}
      </section>

      <section className="card" aria-labelledby="pw-title">
        <h2 id="pw-title" style={{ marginTop: 0 }}>Change the passphrase</h2>
        <p className="muted">Sets a new passphrase (or adds one if the vault has none). Other keys keep working; no file is re-encrypted.</p>
        <form onSubmit={(e) => {
          e.preventDefault();
          if (pass.length < 8) return pw.setError('Use a passphrase of at least 8 characters (several words are best).');
          if (pass !== pass2) return pw.setError('The two passphrases do not match.');
          if (weak && !insist) return pw.setError('This passphrase is easy to guess. Choose a stronger one, or tick “Use it anyway”.');
          void pw.run(async () => {
            await coffer().admin.passwd({ vaultId: vault.id, passphrase: pass });
            setPass('');
            setPass2('');
            setInsist(false);
            return 'Passphrase changed. Use the new one from now on.';
          });
        }}>
          <label className="field"><span>New passphrase</span><input type="password" value={pass} onChange={(e) => { setPass(e.target.value); setInsist(false); }} autoComplete="new-password" /></label>
          <StrengthMeter passphrase={pass} userInputs={[vault.name]} />
          <label className="field"><span>New passphrase again</span><input type="password" value={pass2} onChange={(e) => setPass2(e.target.value)} autoComplete="new-password" /></label>
          {weak && <label className="check"><input type="checkbox" checked={insist} onChange={(e) => setInsist(e.target.checked)} /><span>Use it anyway</span></label>}
          {pw.error && <div className="alert error" role="alert">{pw.error}</div>}
          {pw.status && <div className="alert ok" role="status">{pw.status}</div>}
          <button type="submit" className="btn primary" disabled={pw.busy || !pass || !pass2}>{pw.busy ? 'Changing…' : 'Change passphrase'}</button>
        </form>
      </section>

      <section className="card" aria-labelledby="health-title">
        <h2 id="health-title" style={{ marginTop: 0 }}>Health check</h2>
        <p className="muted">Reads and authenticates every record and every file’s content. Repair removes only leftovers of interrupted writes that nothing refers to; you see the list first.</p>
        <div className="toolbar">
          <button type="button" className="btn" disabled={health.busy} onClick={() => void health.run(async () => {
            setReport(null);
            const r = await coffer().admin.verify({ vaultId: vault.id, repair: false });
            setReport(r);
            return r.ok ? `All good: ${r.records} records and ${r.blobs} files (${formatBytes(r.bytes)}) checked.` : null;
          })}>{health.busy ? 'Checking…' : 'Check now'}</button>
        </div>
        {health.error && <div className="alert error" role="alert">{health.error}</div>}
        {health.status && <div className="alert ok" role="status">{health.status}</div>}
        {report && report.problems.filter((p) => p.severity !== 'info').length > 0 && (
          <section aria-label="Problems found">
            <h3>{report.problems.filter((p) => p.severity !== 'info').length} problem(s) found</h3>
            <ul>
              {report.problems.filter((p) => p.severity !== 'info').map((p, i) => (
                <li key={i}><strong>{p.severity}</strong>: {p.path ?? 'vault'}: {p.message}{p.repairable ? ' (repair removes it)' : ''}</li>
              ))}
            </ul>
          </section>
        )}
        {repairable.length > 0 && (
          <section className="card" aria-label="Repair preview">
            <p>Repair would remove {repairable.length} leftover{repairable.length === 1 ? '' : 's'}:</p>
            <ul>{repairable.map((p, i) => <li key={i} className="mono">{p.path ?? p.message}</li>)}</ul>
            <button type="button" className="btn danger" disabled={health.busy} onClick={() => void health.run(async () => {
              const r = await coffer().admin.verify({ vaultId: vault.id, repair: true });
              setReport(r);
              return `Removed ${r.repaired.length} leftover${r.repaired.length === 1 ? '' : 's'}.`;
            })}>Repair: remove {repairable.length}</button>
          </section>
        )}
      </section>
    </div>
  );
}
