import { useState } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import type { VaultSummary } from '../../preload/contract';
import { coffer, errorText } from '../util';

export function VaultList(props: { vaults: VaultSummary[]; onOpen: (id: string) => void; onCreate: () => void; onChanged: () => Promise<void> }) {
  const { t } = useTranslation();
  const [error, setError] = useState<string | null>(null);

  const addExisting = async () => {
    setError(null);
    try {
      const target = (await coffer().dialog.pickFolder({ title: t('vaults.chooseFolder') })).path;
      if (!target) return;
      const v = await coffer().vaults.open({ dir: target });
      await props.onChanged();
      props.onOpen(v.id);
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <section aria-labelledby="vaults-title">
      <h1 id="vaults-title">{t('vaults.title')}</h1>
      <p className="muted">{t('vaults.intro')}</p>
      <div className="toolbar">
        <button type="button" className="btn primary" onClick={props.onCreate}>{t('vaults.newVault')}</button>
        <button type="button" className="btn" onClick={() => void addExisting()}>{t('vaults.openExisting')}</button>
      </div>
      {error && <div className="alert error" role="alert">{error}</div>}
      {props.vaults.length === 0 ? (
        <div className="empty">
          <h2>{t('vaults.emptyTitle')}</h2>
          <ol>
            <li>{t('vaults.step1')}</li>
            <li>{t('vaults.step2')}</li>
            <li>{t('vaults.step3')}</li>
          </ol>
          <div className="toolbar" style={{ justifyContent: 'center' }}>
            <button type="button" className="btn primary" onClick={props.onCreate}>{t('vaults.createFirst')}</button>
          </div>
          <p><Trans i18nKey="vaults.shared" components={{ em: <em /> }} /></p>
        </div>
      ) : (
        <div className="cards" role="list">
          {props.vaults.map((v) => (
            <button key={v.id} type="button" role="listitem" className="card vault-card" onClick={() => props.onOpen(v.id)} aria-label={t('vaults.cardLabel', { name: v.name, state: t(`state.${v.state}`) })}>
              <span className="row">
                <span className="name">{v.name}</span>
                <span className="spacer" />
                <span className={`state ${v.state}`}>{t(`state.${v.state}`)}</span>
              </span>
              <span className="mono muted">{v.path}</span>
              <span className="muted">
                {[t('vaults.slots', { count: v.slots.length }), v.conflicts > 0 ? t('vaults.conflicts', { count: v.conflicts }) : null, v.pendingRequests > 0 ? t('vaults.requests', { count: v.pendingRequests }) : null].filter(Boolean).join(' · ')}
              </span>
            </button>
          ))}
        </div>
      )}
    </section>
  );
}
