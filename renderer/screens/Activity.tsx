import { useEffect, useState } from 'react';
import type { ActivityEntry } from '../../preload/contract';
import i18next from 'i18next';
import { useTranslation } from 'react-i18next';
import { coffer, errorText, formatDate } from '../util';

/** The actions main records (a fixed set of English phrases) in the current language; others as they are. */
function activityAction(action: string): string {
  const key = `activity.action.${action.replace(/ /g, '_')}`;
  return i18next.exists(key) ? i18next.t(key as 'activity.action.lock') : action;
}

export function ActivityScreen() {
  const { t } = useTranslation();
  const [entries, setEntries] = useState<ActivityEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => coffer().activity.list({ limit: 500 }).then(setEntries, (e: unknown) => setError(errorText(e)));
  useEffect(() => void load(), []);
  return (
    <section aria-labelledby="activity-title">
      <h1 id="activity-title">{t('activity.title')}</h1>
      <p className="muted">{t('activity.intro')}</p>
      <div className="toolbar"><button type="button" className="btn" onClick={() => void load()}>{t('common.refresh')}</button></div>
      {error && <div className="alert error" role="alert">{error}</div>}
      {entries && entries.length === 0 && <div className="empty"><h2>{t('activity.noneTitle')}</h2><p>{t('activity.noneHint')}</p></div>}
      {entries && entries.length > 0 && (
        <table>
          <thead><tr><th>{t('activity.when')}</th><th>{t('activity.vault')}</th><th>{t('activity.what')}</th><th>{t('activity.details')}</th><th>{t('activity.result')}</th></tr></thead>
          <tbody>
            {entries.map((e, i) => (
              <tr key={`${e.time}-${i}`}>
                <td>{formatDate(e.time)}</td>
                <td>{e.vaultName ?? '—'}</td>
                <td>{activityAction(e.action)}</td>
                <td>{e.detail}</td>
                <td style={{ color: e.ok ? 'var(--ok)' : 'var(--danger)' }}>{e.ok ? t('common.ok') : t('common.failed')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
