import { useCallback, useEffect, useState } from 'react';
import type { UnsavedEdit, VaultSummary } from '../../preload/contract';
import { useTranslation } from 'react-i18next';
import { coffer, errorText, formatDate } from '../util';

/**
 * Opened files whose edits are not in the vault yet (a lock or quit could not save them, or Coffer
 * stopped before it could). They stay on this computer until the person saves or discards each one.
 */
export function UnsavedEdits({ vaults, onOpenVault }: { vaults: VaultSummary[]; onOpenVault: (vaultId: string) => void }) {
  const { t } = useTranslation();
  const [edits, setEdits] = useState<UnsavedEdit[]>([]);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);

  const load = useCallback(() => coffer().edits.list().then(setEdits, () => undefined), []);
  useEffect(() => {
    void load();
    const offs = [coffer().on.unsavedEdits(({ edits: next }) => setEdits(next)), coffer().on.vaultLocked(() => void load())];
    return () => offs.forEach((off) => off());
  }, [load]);

  if (edits.length === 0 && !message) return null;
  if (edits.length === 0 && message) {
    return (
      <div className={`alert ${message.ok ? 'ok' : 'error'}`} role="status">
        {message.text} <button type="button" className="btn link" onClick={() => setMessage(null)}>{t('common.dismiss')}</button>
      </div>
    );
  }

  const unlocked = (e: UnsavedEdit) => vaults.find((v) => v.id === e.vaultId)?.state === 'unlocked';
  const save = async (e: UnsavedEdit) => {
    setBusy(e.id);
    setMessage(null);
    try {
      const r = await coffer().edits.save({ id: e.id });
      setMessage({ ok: true, text: t('unsaved.savedAs', { name: e.name, path: r.path, version: r.version }) });
    } catch (err) {
      setMessage({ ok: false, text: errorText(err) });
    } finally {
      setBusy(null);
      void load();
    }
  };
  const discard = async (e: UnsavedEdit) => {
    setBusy(e.id);
    setMessage(null);
    try {
      await coffer().edits.discard({ id: e.id });
      setMessage({ ok: true, text: t('unsaved.discarded', { name: e.name }) });
    } catch (err) {
      setMessage({ ok: false, text: errorText(err) });
    } finally {
      setBusy(null);
      setConfirming(null);
      void load();
    }
  };

  return (
    <section className="alert warn unsaved-edits" aria-labelledby="unsaved-title">
      {edits.length > 0 && (
        <>
          <h2 id="unsaved-title">
            {t('unsaved.title', { count: edits.length })}
          </h2>
          <p>{t('unsaved.intro')}</p>
          <ul className="unsaved-list">
            {edits.map((e) => {
              const open = unlocked(e) || e.vaultUnlocked;
              return (
                <li key={e.id} aria-label={t('unsaved.itemLabel', { path: e.path })}>
                  <div>
                    <strong>{e.name}</strong> <span className="muted">{t('unsaved.where', { vault: e.vaultName, path: e.path })}{e.changedAt ? t('unsaved.changed', { date: formatDate(e.changedAt) }) : ''}</span>
                    <div className="unsaved-reason">{e.reason}</div>
                  </div>
                  {confirming === e.id ? (
                    <div className="row" role="group" aria-label={t('unsaved.confirmLabel', { name: e.name })}>
                      <span>{t('unsaved.confirm', { name: e.name })}</span>
                      <button type="button" className="btn danger" disabled={busy === e.id} onClick={() => void discard(e)}>{t('unsaved.discardEdits')}</button>
                      <button type="button" className="btn" onClick={() => setConfirming(null)}>{t('unsaved.keep')}</button>
                    </div>
                  ) : (
                    <div className="row">
                      {open ? (
                        <button type="button" className="btn primary" disabled={busy === e.id} onClick={() => void save(e)}>{t('unsaved.save')}</button>
                      ) : (
                        <button type="button" className="btn" onClick={() => onOpenVault(e.vaultId)}>{t('unsaved.unlockToSave', { vault: e.vaultName })}</button>
                      )}
                      <button type="button" className="btn danger" disabled={busy === e.id} onClick={() => setConfirming(e.id)}>{t('unsaved.discard')}</button>
                    </div>
                  )}
                </li>
              );
            })}
          </ul>
        </>
      )}
      {message && <div role="status" className={message.ok ? 'unsaved-ok' : 'unsaved-error'}>{message.text}</div>}
    </section>
  );
}
