import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { AppInfo, Settings } from '../../preload/contract';
import { LANGUAGES, LANGUAGE_NAMES, pickLanguage } from '../i18n';
import { coffer, errorText, storageWarning } from '../util';

export function SettingsScreen(props: { settings: Settings | null; info: AppInfo | null; onSaved: (s: Settings) => void }) {
  const { t } = useTranslation();
  const [draft, setDraft] = useState<Settings | null>(props.settings);
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => setDraft(props.settings), [props.settings]);
  if (!draft) return <p>{t('settings.loading')}</p>;

  const save = async (patch: Partial<Settings>) => {
    const next = { ...draft, ...patch };
    setDraft(next);
    try {
      const saved = await coffer().settings.set(patch);
      props.onSaved(saved);
      setStatus({ ok: true, text: 'settings.saved' });
    } catch (e) {
      setStatus({ ok: false, text: errorText(e) });
    }
  };
  const system = LANGUAGE_NAMES[pickLanguage(typeof navigator === 'undefined' ? [] : navigator.languages)];

  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">{t('settings.title')}</h1>
      <label className="field">
        <span>{t('settings.language')}</span>
        <select value={draft.language} onChange={(e) => void save({ language: e.target.value as Settings['language'] })}>
          <option value="system">{t('settings.languageSystem', { name: system })}</option>
          {LANGUAGES.map((l) => <option key={l} value={l} lang={l}>{LANGUAGE_NAMES[l]}</option>)}
        </select>
      </label>
      <label className="field">
        <span>{t('settings.idle')}</span>
        <select value={draft.autoLockMinutes} onChange={(e) => void save({ autoLockMinutes: Number(e.target.value) })}>
          {[1, 5, 10, 15, 30, 60, 240].map((m) => <option key={m} value={m}>{t('settings.minutes', { count: m })}</option>)}
          <option value={0}>{t('settings.never')}</option>
        </select>
        <span className="hint">{t('settings.idleHint')}</span>
      </label>
      <fieldset>
        <legend>{t('settings.theme')}</legend>
        {(['system', 'light', 'dark'] as const).map((th) => (
          <label key={th} className="check">
            <input type="radio" name="theme" value={th} checked={draft.theme === th} onChange={() => void save({ theme: th })} />
            <span>{th === 'system' ? t('settings.themeSystem') : th === 'light' ? t('settings.themeLight') : t('settings.themeDark')}</span>
          </label>
        ))}
      </fieldset>
      <label className="field">
        <span>{t('settings.module')}</span>
        <input value={draft.pkcs11Module} placeholder={t('settings.modulePlaceholder')} onChange={(e) => setDraft({ ...draft, pkcs11Module: e.target.value })} onBlur={() => void save({ pkcs11Module: draft.pkcs11Module })} />
        <button type="button" className="btn" onClick={() => void coffer().dialog.pickModule({ title: t('settings.pickModule') }).then((r) => { if (r.path) { setDraft({ ...draft, pkcs11Module: r.path }); void save({ pkcs11Module: r.path }); } })}>{t('common.choose')}</button>
      </label>
      {status && <div className={`alert ${status.ok ? 'ok' : 'error'}`} role={status.ok ? 'status' : 'alert'}>{status.ok ? t('settings.saved') : status.text}</div>}
      <h2>{t('settings.about')}</h2>
      {props.info && (
        <table style={{ maxWidth: 640 }}>
          <tbody>
            <tr><th>{t('settings.version')}</th><td>{props.info.version}</td></tr>
            <tr><th>{t('settings.platform')}</th><td>{props.info.platform}</td></tr>
            <tr><th>{t('settings.storage')}</th><td>{props.info.storageBackend}</td></tr>
          </tbody>
        </table>
      )}
      {props.info?.storageWarning && <div className="alert warn" role="note">{storageWarning(props.info)}</div>}
    </section>
  );
}
