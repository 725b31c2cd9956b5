import { useState } from 'react';
import type { VaultSummary } from '../../preload/contract';
import { coffer, errorOf } from '../util';

export function VaultList(props: { vaults: VaultSummary[]; onOpen: (id: string) => void; onCreate: () => void; onChanged: () => Promise<void> }) {
  const [error, setError] = useState<string | null>(null);

  const addExisting = async () => {
    setError(null);
    try {
      const target = (await coffer().dialog.pickFolder({ title: 'Choose a vault folder' })).path;
      if (!target) return;
      const v = await coffer().vaults.open({ dir: target });
      await props.onChanged();
      props.onOpen(v.id);
    } catch (e) {
      setError(errorOf(e).message);
    }
  };

  return (
    <section aria-labelledby="vaults-title">
      <h1 id="vaults-title">Vaults</h1>
      <p className="muted">Each vault is a folder of encrypted files. Put it in a sync folder or a network share to work on it with your team.</p>
      <div className="toolbar">
        <button type="button" className="btn primary" onClick={props.onCreate}>New vault…</button>
        <button type="button" className="btn" onClick={() => void addExisting()}>Open existing vault…</button>
      </div>
      {error && <div className="alert error" role="alert">{error}</div>}
      {props.vaults.length === 0 ? (
        <div className="empty">
          <h2>No vaults yet</h2>
          <ol>
            <li>Create a vault in a folder (a sync folder works well).</li>
            <li>Protect it with a passphrase, your member key, a hardware key or Vault Transit.</li>
            <li>Drag files in: they are encrypted before they touch the folder.</li>
          </ol>
          <div className="toolbar" style={{ justifyContent: 'center' }}>
            <button type="button" className="btn primary" onClick={props.onCreate}>Create your first vault</button>
          </div>
          <p>Someone shared a vault folder with you? Open it, or ask for access from <em>Member keys</em>.</p>
        </div>
      ) : (
        <div className="cards" role="list">
          {props.vaults.map((v) => (
            <button key={v.id} type="button" role="listitem" className="card vault-card" onClick={() => props.onOpen(v.id)} aria-label={`${v.name}, ${v.state}`}>
              <span className="row">
                <span className="name">{v.name}</span>
                <span className="spacer" />
                <span className={`state ${v.state}`}>{v.state === 'missing' ? 'unavailable' : v.state}</span>
              </span>
              <span className="mono muted">{v.path}</span>
              <span className="muted">
                {v.slots.length} key slot{v.slots.length === 1 ? '' : 's'}
                {v.conflicts > 0 ? ` · ${v.conflicts} conflict${v.conflicts === 1 ? '' : 's'}` : ''}
                {v.pendingRequests > 0 ? ` · ${v.pendingRequests} access request${v.pendingRequests === 1 ? '' : 's'}` : ''}
              </span>
            </button>
          ))}
        </div>
      )}
    </section>
  );
}
