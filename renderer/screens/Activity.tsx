import { useEffect, useState } from 'react';
import type { ActivityEntry } from '../../preload/contract';
import { coffer, errorOf, formatDate } from '../util';

export function ActivityScreen() {
  const [entries, setEntries] = useState<ActivityEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => coffer().activity.list({ limit: 500 }).then(setEntries, (e: unknown) => setError(errorOf(e).message));
  useEffect(() => void load(), []);
  return (
    <section aria-labelledby="activity-title">
      <h1 id="activity-title">Activity</h1>
      <p className="muted">What happened on this computer: unlocks, files added and exported, members granted and revoked. Names only; never keys or contents.</p>
      <div className="toolbar"><button type="button" className="btn" onClick={() => void load()}>Refresh</button></div>
      {error && <div className="alert error" role="alert">{error}</div>}
      {entries && entries.length === 0 && <div className="empty"><h2>Nothing yet</h2><p>Create or unlock a vault and what you do will be listed here.</p></div>}
      {entries && entries.length > 0 && (
        <table>
          <thead><tr><th>When</th><th>Vault</th><th>What</th><th>Details</th><th>Result</th></tr></thead>
          <tbody>
            {entries.map((e, i) => (
              <tr key={`${e.time}-${i}`}>
                <td>{formatDate(e.time)}</td>
                <td>{e.vaultName ?? '—'}</td>
                <td>{e.action}</td>
                <td>{e.detail}</td>
                <td style={{ color: e.ok ? 'var(--ok)' : 'var(--danger)' }}>{e.ok ? 'ok' : 'failed'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
