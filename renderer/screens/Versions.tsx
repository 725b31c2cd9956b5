/**
 * Versions and trash in the window (issue 10 part 3, issue 11 item 7): the "Versions…" panel of a file
 * (list, restore, export an older version through the Save dialog), the Trash tab (restore, empty with
 * confirmation), and the Undo offered after a delete. Only names, sizes and dates cross IPC; an older
 * version's content leaves the vault only through versions:export, to a path the person picked (in the
 * browser shell: a one-time download, files:exportDownload with its version).
 */
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { FileVersion, Retention, TrashEntry, VaultSummary } from '../../preload/contract';
import { clickDownload, coffer, errorText, formatBytes, formatDate } from '../util';
import { FileIcon, FolderIcon } from '../icons';

/** The versions of one file, with Restore and Export… for each previous one. */
export function VersionsPanel({ vaultId, path, browser, onClose, onChanged }: { vaultId: string; path: string; browser: boolean; onClose: () => void; onChanged: () => void }) {
  const { t } = useTranslation();
  const name = path.slice(path.lastIndexOf('/') + 1);
  const [list, setList] = useState<FileVersion[] | null>(null);
  const [retention, setRetention] = useState<Retention | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      const r = await coffer().versions.list({ vaultId, path });
      setList(r.versions);
      setRetention(r.retention);
    } catch (e) {
      setError(errorText(e));
    }
  }, [vaultId, path]);
  useEffect(() => void load(), [load]);

  const restore = async (v: FileVersion) => {
    setBusy(true);
    setError(null);
    setStatus(null);
    try {
      await coffer().versions.restore({ vaultId, path, version: v.version });
      setStatus(t('versions.restored', { version: v.version, name }));
      onChanged();
      await load();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const exportVersion = async (v: FileVersion) => {
    setError(null);
    setStatus(null);
    try {
      if (browser) {
        // Browser shell: a one-time download, as the file's own Export (main decrypts into the response).
        clickDownload(await coffer().files.exportDownload({ vaultId, path, version: v.version }));
        return;
      }
      const dot = name.lastIndexOf('.');
      const defaultName = dot > 0 ? `${name.slice(0, dot)} (v${v.version})${name.slice(dot)}` : `${name} (v${v.version})`;
      const r = await coffer().dialog.saveFile({ title: t('versions.exportTitle', { version: v.version, name }), defaultName });
      if (!r.path) return;
      await coffer().versions.export({ vaultId, path, version: v.version, dest: r.path });
      setStatus(t('versions.exporting', { version: v.version, dest: r.path }));
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <section className="card versions-panel" role="dialog" aria-labelledby="versions-title">
      <div className="toolbar">
        <h2 id="versions-title" className="truncate" style={{ margin: 0 }} title={path}>{t('versions.title', { name })}</h2>
        <span className="spacer" />
        <button type="button" className="btn" onClick={onClose}>{t('versions.close')}</button>
      </div>
      {retention && <p className="hint">{t('versions.intro', { count: retention.versions, days: retention.days })}</p>}
      {status && <div className="alert info" role="status">{status}</div>}
      {error && <div className="alert error" role="alert">{error}</div>}
      {list === null && !error && <p className="muted">{t('versions.loading')}</p>}
      {list && (
        <table className="file-table" aria-label={t('versions.listLabel', { name })}>
          <thead>
            <tr><th>{t('versions.version')}</th><th className="c-size">{t('versions.size')}</th><th className="c-date">{t('versions.modified')}</th><th>{t('versions.state')}</th><th className="actions">{t('versions.actions')}</th></tr>
          </thead>
          <tbody>
            {list.map((v) => (
              <tr key={v.version} aria-label={t('versions.rowLabel', { version: v.version })}>
                <td>v{v.version}</td>
                <td className="c-size">{formatBytes(v.size)}</td>
                <td className="c-date">{formatDate(v.mtime)}</td>
                <td>{v.current ? <span className="badge current">{t('versions.current')}</span> : <span className="muted">{t('versions.replaced', { date: formatDate(v.replaced) })}</span>}</td>
                <td className="actions">
                  {!v.current && (
                    <>
                      <button type="button" className="btn small" disabled={busy} onClick={() => void restore(v)} aria-label={t('versions.restoreLabel', { version: v.version })}>{t('versions.restore')}</button>
                      <button type="button" className="btn small" onClick={() => void exportVersion(v)} aria-label={t('versions.exportLabel', { version: v.version })}>{t('versions.export')}</button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list && list.length === 1 && <p className="muted">{t('versions.none')}</p>}
    </section>
  );
}

/** "Moved X to the trash. Undo": shown after a delete, in the file list's status area. */
export function UndoBar({ vaultId, deleted, onDone }: { vaultId: string; deleted: { names: string[]; trashIds: string[] }; onDone: (restored: boolean) => void }) {
  const { t } = useTranslation();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const undo = async () => {
    setBusy(true);
    try {
      for (const id of deleted.trashIds) await coffer().trash.restore({ vaultId, id });
      onDone(true);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const n = deleted.names.length;
  return (
    <div className="alert info undo" role="status">
      {n === 1 ? t('trash.movedOne', { name: deleted.names[0] ?? '' }) : t('trash.movedMany', { count: n })}{' '}
      {deleted.trashIds.length > 0 && <button type="button" className="btn small" disabled={busy} onClick={() => void undo()}>{t('trash.undo')}</button>}{' '}
      <button type="button" className="btn link" onClick={() => onDone(false)}>{t('trash.dismiss')}</button>
      {error && <div className="alert error" role="alert">{error}</div>}
    </div>
  );
}

/** How long versions and trash are kept: a vault setting (every member sees the same). */
function RetentionForm({ vaultId, retention, onSaved }: { vaultId: string; retention: Retention; onSaved: (r: Retention) => void }) {
  const { t } = useTranslation();
  const [days, setDays] = useState(String(retention.days));
  const [versions, setVersions] = useState(String(retention.versions));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const changed = days !== String(retention.days) || versions !== String(retention.versions);
  const save = async () => {
    const d = Number(days);
    const v = Number(versions);
    if (!Number.isInteger(d) || d < 1 || d > 3650 || !Number.isInteger(v) || v < 0 || v > 100) {
      setError(t('trash.retentionBounds'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onSaved(await coffer().trash.setRetention({ vaultId, days: d, versions: v }));
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="row retention" aria-label={t('trash.retentionTitle')} onSubmit={(e) => { e.preventDefault(); void save(); }}>
      <label className="field retention-field"><span>{t('trash.keepVersions')}</span><input type="number" min={0} max={100} value={versions} onChange={(e) => setVersions(e.target.value)} aria-label={t('trash.keepVersions')} /></label>
      <label className="field retention-field"><span>{t('trash.keepDays')}</span><input type="number" min={1} max={3650} value={days} onChange={(e) => setDays(e.target.value)} aria-label={t('trash.keepDays')} /></label>
      <button type="submit" className="btn small" disabled={busy || !changed}>{t('trash.saveRetention')}</button>
      {error && <div className="alert error" role="alert">{error}</div>}
    </form>
  );
}

/** The Trash tab: what was deleted, Restore, and Empty trash (confirmed). */
export function TrashView({ vault }: { vault: VaultSummary }) {
  const { t } = useTranslation();
  const [entries, setEntries] = useState<TrashEntry[] | null>(null);
  const [retention, setRetention] = useState<Retention | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      const r = await coffer().trash.list({ vaultId: vault.id });
      setEntries(r.entries);
      setRetention(r.retention);
    } catch (e) {
      setError(errorText(e));
    }
  }, [vault.id]);
  useEffect(() => void load(), [load]);

  const act = async (what: () => Promise<string>) => {
    setBusy(true);
    setError(null);
    setStatus(null);
    try {
      setStatus(await what());
      await load();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const restore = (e: TrashEntry) => act(async () => {
    const r = await coffer().trash.restore({ vaultId: vault.id, id: e.id });
    return t('trash.restored', { name: e.name, path: r.path });
  });

  const empty = () => act(async () => {
    const r = await coffer().trash.empty({ vaultId: vault.id });
    setConfirming(false);
    return t('trash.emptied', { count: r.emptied });
  });

  return (
    <section className="card" aria-labelledby="trash-title">
      <div className="toolbar">
        <h2 id="trash-title" style={{ margin: 0 }}>{t('trash.title')}</h2>
        <span className="spacer" />
        {entries && entries.length > 0 && !confirming && <button type="button" className="btn danger" onClick={() => setConfirming(true)}>{t('trash.emptyAll')}</button>}
      </div>
      {retention && <p className="hint">{t('trash.intro', { days: retention.days })}</p>}
      {retention && <RetentionForm vaultId={vault.id} retention={retention} onSaved={(r) => { setRetention(r); setStatus(t('trash.retentionSaved', { count: r.versions, days: r.days })); }} />}
      {confirming && entries && (
        <div className="alert warn" role="alertdialog" aria-label={t('trash.confirmTitle')}>
          <p style={{ marginTop: 0 }}>{t('trash.confirmEmpty', { count: entries.length })}</p>
          <div className="toolbar">
            <button type="button" className="btn danger" disabled={busy} onClick={() => void empty()}>{t('trash.confirm')}</button>
            <button type="button" className="btn" onClick={() => setConfirming(false)}>{t('trash.cancel')}</button>
          </div>
        </div>
      )}
      {status && <div className="alert info" role="status">{status}</div>}
      {error && <div className="alert error" role="alert">{error}</div>}
      {entries && entries.length === 0 && <p className="muted">{t('trash.empty')}</p>}
      {entries && entries.length > 0 && (
        <table className="file-table" aria-label={t('trash.listLabel')}>
          <thead>
            <tr><th>{t('trash.name')}</th><th>{t('trash.where')}</th><th className="c-size">{t('trash.size')}</th><th className="c-date">{t('trash.deleted')}</th><th className="actions">{t('trash.actions')}</th></tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id} aria-label={e.name}>
                <td className="name-cell"><span className="entry-name" title={e.name}>{e.type === 'dir' ? <FolderIcon /> : <FileIcon />} <span className="truncate">{e.name}</span></span>{e.type === 'dir' && <span className="muted"> {t('trash.folderFiles', { count: e.files })}</span>}</td>
                <td className="truncate mono" title={e.path}>{e.path.slice(0, e.path.lastIndexOf('/')) || '/'}</td>
                <td className="c-size">{formatBytes(e.size)}</td>
                <td className="c-date" title={t('trash.expires', { date: formatDate(e.expires) })}>{formatDate(e.deleted)}</td>
                <td className="actions"><button type="button" className="btn small" disabled={busy} onClick={() => void restore(e)} aria-label={t('trash.restoreLabel', { name: e.name })}>{t('trash.restore')}</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
