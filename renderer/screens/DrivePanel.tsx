/**
 * "Mount as drive" (issue 10 part 2): the vault as a WebDAV drive in the file manager. Main starts
 * the server and mounts it with the system's client; this panel shows the address, the user and
 * how it was mounted. The password never comes here: "Copy password" asks main to put it on the
 * clipboard.
 */
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { DriveOpenFile, DriveStatus, VaultSummary } from '../../preload/contract';
import { coffer, errorText } from '../util';

/** Lists files open through the drive ("/a.txt: upload in progress"). */
export function OpenThroughDrive({ files }: { files: DriveOpenFile[] }) {
  const { t } = useTranslation();
  return (
    <ul aria-label={t('drive.openFiles')}>
      {files.map((f) => <li key={`${f.kind}:${f.path}`}><span className="mono">{f.path}</span> <span className="muted">({t(`drive.kind.${f.kind}`)})</span></li>)}
    </ul>
  );
}

export function DrivePanel({ vault }: { vault: VaultSummary }) {
  const { t } = useTranslation();
  const [st, setSt] = useState<DriveStatus | null>(null);
  const [readOnly, setReadOnly] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [copied, setCopied] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    const load = () => void coffer().drive.status({ vaultId: vault.id }).then((s) => live && setSt(s), () => undefined);
    load();
    const off = coffer().on.drive((s) => {
      if (s.vaultId === vault.id) setSt(s);
    });
    // While it runs, what is open through it changes with every request.
    const timer = setInterval(load, 3000);
    return () => {
      live = false;
      off();
      clearInterval(timer);
    };
  }, [vault.id]);

  const act = async (f: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await f();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const mount = () => act(async () => setSt(await coffer().drive.mount({ vaultId: vault.id, readOnly })));
  const unmount = () => act(async () => {
    setCopied(null);
    setSt(await coffer().drive.unmount({ vaultId: vault.id }));
  });
  const show = () => act(async () => void (await coffer().drive.show({ vaultId: vault.id })));
  const copy = () => act(async () => {
    const r = await coffer().drive.copyPassword({ vaultId: vault.id });
    setCopied(r.clearsAfterSeconds === null ? t('drive.copied') : t('drive.copiedClears', { seconds: r.clearsAfterSeconds }));
  });

  const running = st?.running === true;
  return (
    <section className="card" aria-labelledby="drive-title">
      <h2 id="drive-title" style={{ marginTop: 0 }}>{t('drive.title')}</h2>
      <p className="hint">{t('drive.intro')}</p>
      {!running && (
        <>
          <label className="check">
            <input type="checkbox" checked={readOnly} onChange={(e) => setReadOnly(e.target.checked)} />
            <span>{t('drive.readOnly')} <span className="muted">{t('drive.readOnlyHint')}</span></span>
          </label>
          <div className="toolbar">
            <button type="button" className="btn primary" disabled={busy || vault.state !== 'unlocked'} onClick={() => void mount()}>
              {busy ? t('drive.mounting') : t('drive.mount')}
            </button>
          </div>
        </>
      )}
      {running && st && (
        <>
          <div className={`alert ${st.how === 'manual' ? 'warn' : 'ok'}`} role="status">
            {t(`drive.how.${st.how ?? 'manual'}`, { location: st.location ?? '' })}
            {st.readOnly && <> {t('drive.isReadOnly')}</>}
          </div>
          <dl className="drive-facts" aria-label={t('drive.connection')}>
            <dt>{t('drive.address')}</dt><dd className="mono" data-testid="drive-url">{st.url}</dd>
            <dt>{t('drive.user')}</dt><dd className="mono" data-testid="drive-user">{st.user}</dd>
            <dt>{t('drive.password')}</dt>
            <dd>
              <span className="mono" aria-hidden="true">••••••••</span>{' '}
              <button type="button" className="btn small" disabled={busy} onClick={() => void copy()}>{t('drive.copyPassword')}</button>
              <div className="hint">{copied ?? t('drive.passwordHint')}</div>
            </dd>
          </dl>
          <div className="toolbar">
            {st.location && st.how !== 'manual' && <button type="button" className="btn" disabled={busy} onClick={() => void show()}>{t('drive.show')}</button>}
            <button type="button" className="btn" disabled={busy} onClick={() => void unmount()}>{t('drive.unmount')}</button>
          </div>
          {st.openFiles.length > 0 && (
            <div className="alert info">
              <strong>{t('drive.openNow')}</strong>
              <OpenThroughDrive files={st.openFiles} />
            </div>
          )}
          {st.notes.length > 0 && (
            <details>
              <summary className="hint">{t('drive.details')}</summary>
              <ul className="hint">{st.notes.map((n) => <li key={n}>{n}</li>)}</ul>
            </details>
          )}
          <p className="hint">{t('drive.lockHint')}</p>
        </>
      )}
      {error && <div className="alert error" role="alert">{error}</div>}
    </section>
  );
}
