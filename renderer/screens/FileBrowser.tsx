import { memo, useCallback, useEffect, useMemo, useRef, useState, type DragEvent, type ReactNode } from 'react';
import type { ConflictInfo, EntryInfo, JobInfo, VaultSummary } from '../../preload/contract';
import { Trans, useTranslation } from 'react-i18next';
import i18next from 'i18next';
import { formatShortDateIn } from '../i18n';
import { clickDownload, coffer, errorOf, errorText, formatBytes, formatDate, joinPath, parentOf } from '../util';
import { FileIcon, FolderIcon, UpIcon } from '../icons';
import { UndoBar, VersionsPanel } from './Versions';
import { VirtualTable } from '../VirtualTable';

/** A row of the file list before it is measured (px): the height of a row with its small buttons. */
const ROW_HEIGHT = 41;

/**
 * Name order for the list. One collator, made once: `localeCompare` with options builds one per call,
 * which made sorting a folder of 10,000 entries take most of a second.
 */
const byName = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
const exactly = new Intl.Collator();

type Edit =
  | { kind: 'mkdir' }
  | { kind: 'rename'; entry: EntryInfo }
  | { kind: 'move'; entries: EntryInfo[] }
  | { kind: 'delete'; entries: EntryInfo[] };

type SortKey = 'name' | 'size' | 'mtime';

/**
 * Files opened, exported or added in this session, per vault: kept in memory only (names are
 * vault contents; nothing is written to the browser profile) and forgotten when the vault locks.
 */
const recentByVault = new Map<string, { path: string; name: string; at: number }[]>();
const RECENT_MAX = 6;
function remember(vaultId: string, path: string): void {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const list = (recentByVault.get(vaultId) ?? []).filter((r) => r.path !== path);
  recentByVault.set(vaultId, [{ path, name, at: Date.now() }, ...list].slice(0, RECENT_MAX));
}
let forgetting = false;
function forgetOnLock(): void {
  if (forgetting || typeof window === 'undefined' || !window.coffer) return;
  forgetting = true;
  window.coffer.on.vaultLocked(({ vaultId }) => recentByVault.delete(vaultId));
}

function Breadcrumbs({ path, onGo, onDropInto }: { path: string; onGo: (p: string) => void; onDropInto: (p: string, e: DragEvent) => void }) {
  const { t } = useTranslation();
  const parts = path.split('/').filter(Boolean);
  const crumb = (target: string, label: string, current: boolean): ReactNode => (
    <button type="button" onClick={() => onGo(target)} aria-current={current ? 'location' : undefined} onDragOver={(e) => e.preventDefault()} onDrop={(e) => onDropInto(target, e)}>{label}</button>
  );
  return (
    <nav className="breadcrumbs" aria-label={t('files.folderNav')}>
      {crumb('/', t('files.root'), parts.length === 0)}
      {parts.map((p, i) => {
        const target = `/${parts.slice(0, i + 1).join('/')}`;
        return (
          <span key={target} className="crumb">
            <span className="muted" aria-hidden="true">›</span>
            {crumb(target, p, i === parts.length - 1)}
          </span>
        );
      })}
    </nav>
  );
}

function Conflicts({ vaultId, conflicts, onResolved }: { vaultId: string; conflicts: ConflictInfo[]; onResolved: () => void }) {
  const { t } = useTranslation();
  const [error, setError] = useState<string | null>(null);
  if (conflicts.length === 0) return null;
  const resolve = async (path: string, keep: 'both' | 'mine' | 'theirs') => {
    try {
      await coffer().files.resolveConflict({ vaultId, path, keep });
      setError(null);
      onResolved();
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <section className="card conflict" aria-labelledby="conflicts-title">
      <h2 id="conflicts-title" style={{ marginTop: 0 }}>{t('files.conflicts', { count: conflicts.length })}</h2>
      <p className="muted">{t('files.conflictsIntro')}</p>
      {error && <div className="alert error" role="alert">{error}</div>}
      {conflicts.map((c) => (
        <div key={c.path} aria-label={t('files.conflictLabel', { path: c.path })}>
          <h3 className="mono">{c.path}</h3>
          <div className="versions">
            {c.versions.map((v) => (
              <div key={v.id}>
                <strong>{v.origin}</strong>
                <div className="truncate" title={v.name}>{v.name}</div>
                <div className="muted">{t('files.sizeDate', { size: formatBytes(v.size), date: formatDate(v.mtime) })}</div>
              </div>
            ))}
          </div>
          <div className="toolbar">
            <button type="button" className="btn" onClick={() => void resolve(c.path, 'both')}>{t('files.keepBoth')}</button>
            <button type="button" className="btn" onClick={() => void resolve(c.path, 'mine')}>{t('files.keepMine')}</button>
            <button type="button" className="btn" onClick={() => void resolve(c.path, 'theirs')}>{t('files.keepTheirs')}</button>
          </div>
        </div>
      ))}
    </section>
  );
}

/** Every folder of the vault, for the Move picker (walks the tree through files.list, bounded). */
async function allFolders(vaultId: string): Promise<string[]> {
  const out = ['/'];
  const queue = ['/'];
  while (queue.length > 0 && out.length < 2000) {
    const dir = queue.shift() as string;
    const r = await coffer().files.list({ vaultId, path: dir });
    for (const e of r.entries) {
      if (e.type === 'dir' && !e.conflict) {
        out.push(e.path);
        queue.push(e.path);
      }
    }
  }
  return out.sort((a, b) => a.localeCompare(b));
}

/** Why a typed name cannot be used, or null. A "/" would silently move the entry: refused. */
function nameProblem(name: string): string | null {
  const n = name.trim();
  if (n === '') return i18next.t('files.name.empty');
  if (n.includes('/') || n.includes('\\')) return i18next.t('files.name.slash');
  if (n === '.' || n === '..') return i18next.t('files.name.reserved');
  return null;
}

/** Dates in the list: short form (the full one is on hover), in the person's locale. */
function formatShortDate(iso: string | null): string {
  return formatShortDateIn(iso);
}

/** "report.pdf" or "3 items", and "the top folder" or the folder's path. */
function what(entries: readonly EntryInfo[]): string {
  return entries.length === 1 ? (entries[0] as EntryInfo).name : i18next.t('files.items', { count: entries.length });
}
function folderName(dir: string): string {
  return dir === '/' ? i18next.t('files.topFolder') : dir;
}

export function FileBrowser({ vault, jobs }: { vault: VaultSummary; jobs: JobInfo[] }) {
  const { t } = useTranslation();
  const [path, setPath] = useState('/');
  const [entries, setEntries] = useState<EntryInfo[] | null>(null);
  const [conflicts, setConflicts] = useState<ConflictInfo[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [rowError, setRowError] = useState<{ path: string; message: string } | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  // The one capability flag: in the browser shell drops are uploads, and export and drag-out are downloads.
  const [browser, setBrowser] = useState(false);
  useEffect(() => void coffer().app.info().then((i) => setBrowser(i.shell === 'browser'), () => undefined), []);
  const [edit, setEdit] = useState<Edit | null>(null);
  const [text, setText] = useState('');
  const [folders, setFolders] = useState<string[] | null>(null);
  const [dragging, setDragging] = useState(false);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [sort, setSort] = useState<{ key: SortKey; dir: 1 | -1 }>({ key: 'name', dir: 1 });
  const [query, setQuery] = useState('');
  const [, setRecentTick] = useState(0);
  // Versions and trash (issue 10 part 3): the file whose versions are shown; what the last delete moved to the trash.
  const [versionsOf, setVersionsOf] = useState<string | null>(null);
  const [deleted, setDeleted] = useState<{ names: string[]; trashIds: string[] } | null>(null);
  const dragDepth = useRef(0);
  const internalDrag = useRef<EntryInfo[] | null>(null);
  forgetOnLock();

  // Listings can overlap (job ends, live adds, conflicts, actions) and come back out of order: only
  // the newest one started is shown. A listing that raced a lock (VAULT_LOCKED) is not an error to
  // show here: the lock event turns this view into the unlock screen.
  const loadStarted = useRef(0);
  const load = useCallback(async () => {
    const n = ++loadStarted.current;
    try {
      const r = await coffer().files.list({ vaultId: vault.id, path });
      if (n !== loadStarted.current) return;
      setEntries(r.entries);
      setConflicts(r.conflicts);
      setError(null);
    } catch (e) {
      if (n !== loadStarted.current) return;
      const err = errorOf(e);
      if (err.code === 'NOT_FOUND' && path !== '/') setPath(parentOf(path));
      else if (err.code !== 'VAULT_LOCKED') setError(errorText(err));
    }
  }, [vault.id, path]);

  useEffect(() => void load(), [load]);
  useEffect(() => {
    setSelected(new Set());
    setQuery('');
  }, [path]);

  // Reload when one of this vault's jobs finishes (not when the folder changes: the effect above
  // lists it; listing it twice cost a second transfer of every entry on each folder opened).
  const finished = jobs.filter((j) => j.vaultId === vault.id && j.finishedAt !== null).length;
  const finishedSeen = useRef(finished);
  useEffect(() => {
    if (finished === finishedSeen.current) return;
    finishedSeen.current = finished;
    if (finished > 0) void load();
  }, [finished, load]);

  // During a long add, entries are committed in batches: show them as they arrive (at most once a second).
  const addingDone = jobs.filter((j) => j.vaultId === vault.id && j.kind === 'add' && j.state === 'running').reduce((a, j) => a + j.filesDone, 0);
  const lastLive = useRef(0);
  useEffect(() => {
    if (addingDone === 0) return;
    const wait = Math.max(0, 1000 - (Date.now() - lastLive.current));
    const t = window.setTimeout(() => {
      lastLive.current = Date.now();
      void load();
    }, wait);
    return () => window.clearTimeout(t);
  }, [addingDone, load]);

  useEffect(() => coffer().on.conflicts((c) => {
    if (c.vaultId === vault.id) void load();
  }), [vault.id, load]);

  /** Runs an action; its error goes to `where` (the place the action was taken), cleared on success. */
  const run = async (what: () => Promise<unknown>, where: 'top' | 'form' | { row: string }, done?: string): Promise<boolean> => {
    setStatus(null);
    try {
      await what();
      if (where === 'top') setError(null);
      if (where === 'form') setFormError(null);
      setRowError(null);
      if (done) setStatus(done);
      await load();
      return true;
    } catch (e) {
      const message = errorText(e);
      if (where === 'top') setError(message);
      else if (where === 'form') setFormError(message);
      else setRowError({ path: where.row, message });
      return false;
    }
  };

  const addPaths = (sources: string[]) => {
    if (sources.length === 0) return;
    void run(() => coffer().files.add({ vaultId: vault.id, sources, to: path }), 'top');
  };

  const moveInto = (targets: EntryInfo[], dir: string) => {
    const movable = targets.filter((t) => parentOf(t.path) !== dir && t.path !== dir && !dir.startsWith(`${t.path}/`));
    if (movable.length === 0) return;
    void run(async () => {
      for (const t of movable) await coffer().files.move({ vaultId: vault.id, from: t.path, to: joinPath(dir, t.name) });
      setSelected(new Set());
    }, 'top', t('files.moved', { what: what(movable), dir: folderName(dir) }));
  };

  /** A drop on the list or on a folder: our own entries move; files from the computer are added. */
  const onDropInto = (dir: string, e: DragEvent) => {
    e.preventDefault();
    e.stopPropagation();
    dragDepth.current = 0;
    setDragging(false);
    const own = internalDrag.current;
    internalDrag.current = null;
    if (own) {
      moveInto(own, dir);
      return;
    }
    if (browser) {
      // Browser window: the files have no path main may read, so they are uploaded (read now, while the drop lasts).
      const started = coffer().files.upload({ vaultId: vault.id, to: dir, data: e.dataTransfer });
      void run(() => started, 'top');
      return;
    }
    const paths = Array.from(e.dataTransfer.files).map((f) => coffer().files.pathForFile(f)).filter((p) => p !== '');
    if (paths.length === 0) setError(t('files.noPath'));
    else if (dir === path) addPaths(paths);
    else void run(() => coffer().files.add({ vaultId: vault.id, sources: paths, to: dir }), 'top');
  };

  const pick = async (asFolders: boolean) => {
    try {
      const r = await coffer().dialog.pickFiles({ title: asFolders ? t('files.addFolders') : t('files.addFilesTitle'), folders: asFolders });
      addPaths(r.paths);
    } catch (e) {
      setError(errorText(e));
    }
  };

  /** Browser shell: main decrypts the file (a folder: one .zip) into a one-time download; the browser saves it. */
  const download = async (entry: EntryInfo) => {
    clickDownload(await coffer().files.exportDownload({ vaultId: vault.id, path: entry.path }));
  };

  const exportEntry = async (entry: EntryInfo) => {
    if (browser) {
      if ((await run(() => download(entry), { row: entry.path }, t('files.downloading', { name: entry.name }))) && entry.type === 'file') remember(vault.id, entry.path);
      return;
    }
    try {
      const r = await coffer().dialog.saveFile({ title: t('files.exportTitle', { name: entry.name }), defaultName: entry.name });
      if (!r.path) return;
      const dest = r.path;
      await run(() => coffer().files.export({ vaultId: vault.id, path: entry.path, dest }), { row: entry.path }, t('files.exporting', { name: entry.name, dest }));
      remember(vault.id, entry.path);
    } catch (e) {
      setRowError({ path: entry.path, message: errorText(e) });
    }
  };

  const openEntry = async (entry: EntryInfo) => {
    if (await run(() => coffer().files.open({ vaultId: vault.id, path: entry.path }), { row: entry.path })) {
      remember(vault.id, entry.path);
      setRecentTick((n) => n + 1);
    }
  };

  const startEdit = (e: Edit) => {
    setEdit(e);
    setFormError(null);
    setStatus(null);
    setText(e.kind === 'rename' ? e.entry.name : e.kind === 'move' ? path : '');
    if (e.kind === 'move') {
      setFolders(null);
      allFolders(vault.id).then(setFolders, (err: unknown) => setFormError(errorText(err)));
    }
  };

  const submitEdit = async () => {
    if (!edit) return;
    let ok = false;
    if (edit.kind === 'mkdir') {
      const problem = nameProblem(text);
      if (problem) return setFormError(problem);
      ok = await run(() => coffer().files.mkdir({ vaultId: vault.id, path: joinPath(path, text.trim()) }), 'form');
    }
    if (edit.kind === 'rename') {
      const problem = nameProblem(text);
      if (problem) return setFormError(problem);
      ok = await run(() => coffer().files.move({ vaultId: vault.id, from: edit.entry.path, to: joinPath(parentOf(edit.entry.path), text.trim()) }), 'form');
    }
    if (edit.kind === 'move') {
      const dir = text || '/';
      ok = await run(async () => {
        for (const t of edit.entries) await coffer().files.move({ vaultId: vault.id, from: t.path, to: joinPath(dir, t.name) });
      }, 'form', t('files.moved', { what: what(edit.entries), dir: folderName(dir) }));
    }
    if (edit.kind === 'delete') {
      // To the trash: the Undo beside the status restores exactly what this delete moved there.
      const moved = { names: [] as string[], trashIds: [] as string[] };
      setDeleted(null);
      ok = await run(async () => {
        for (const x of edit.entries) {
          const r = await coffer().files.remove({ vaultId: vault.id, path: x.path, recursive: x.type === 'dir' });
          moved.names.push(x.name);
          if (r.trashId) moved.trashIds.push(r.trashId);
        }
      }, 'form');
      if (moved.names.length > 0) setDeleted(moved);
    }
    if (ok) {
      setEdit(null);
      setSelected(new Set());
    }
  };

  const shown = useMemo(() => {
    const q = query.trim().toLocaleLowerCase();
    const list = (entries ?? []).filter((e) => q === '' || e.name.toLocaleLowerCase().includes(q));
    const time = (e: EntryInfo): number => (e.mtime ? Date.parse(e.mtime) : 0);
    const cmp = (a: EntryInfo, b: EntryInfo): number => {
      if (a.type !== b.type) return a.type === 'dir' ? -1 : 1; // folders first, whichever the order
      const v = sort.key === 'name' ? byName.compare(a.name, b.name)
        : sort.key === 'size' ? (a.size ?? 0) - (b.size ?? 0)
          : time(a) - time(b);
      return v * sort.dir || exactly.compare(a.name, b.name);
    };
    return list.sort(cmp);
  }, [entries, query, sort]);

  const keyOf = useCallback((i: number) => (shown[i] as EntryInfo).path, [shown]);
  const selectedEntries = useMemo(() => (selected.size === 0 ? [] : shown.filter((e) => selected.has(e.path))), [shown, selected]);
  const toggleSel = (p: string) => setSelected((s) => {
    const n = new Set(s);
    if (n.has(p)) n.delete(p);
    else n.add(p);
    return n;
  });
  const recent = (recentByVault.get(vault.id) ?? []).slice(0, RECENT_MAX);

  // What a row can do. One object per render of the browser: rows are memoised, so when only the
  // virtual window moves (scrolling) the rows already rendered are not rendered again.
  const rowActions: RowActions = {
    dragStart: (e, ev) => {
      const dragged = selected.has(e.path) ? selectedEntries : [e];
      internalDrag.current = dragged;
      if (e.type !== 'file') {
        ev.dataTransfer.effectAllowed = 'move';
        ev.dataTransfer.setData('text/plain', e.name);
        return;
      }
      // Files: the OS drag is started by main once the file is decrypted into the private
      // temp folder; dropped back on a folder of this list it moves instead (internalDrag).
      ev.preventDefault();
      if (browser) {
        // No OS drag from a page: dragging a file out downloads it.
        download(e).catch((err: unknown) => setRowError({ path: e.path, message: errorText(err) }));
        return;
      }
      coffer().files.dragOut({ vaultId: vault.id, path: e.path }).catch((err: unknown) => setRowError({ path: e.path, message: errorText(err) }));
    },
    dragEnd: () => { internalDrag.current = null; },
    dropInto: onDropInto,
    toggle: toggleSel,
    go: setPath,
    open: (e) => void openEntry(e),
    exportEntry: (e) => void exportEntry(e),
    edit: startEdit,
    versions: setVersionsOf,
    dismissError: () => setRowError(null),
  };

  const sortHeader = (key: SortKey, className: string) => (
    <th className={className} aria-sort={sort.key === key ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'}>
      <button type="button" className="sort" onClick={() => setSort((s) => ({ key, dir: s.key === key ? (s.dir === 1 ? -1 : 1) : 1 }))}>
        {t(`files.sort.${key}`)}{sort.key === key ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''}
      </button>
    </th>
  );

  const editLabel = edit?.kind === 'move' ? what(edit.entries) : '';

  return (
    <div className="files">
      <div className="toolbar">
        <Breadcrumbs path={path} onGo={setPath} onDropInto={onDropInto} />
        <span className="spacer" />
        <button type="button" className="btn primary" onClick={() => void pick(false)}>{t('files.addFiles')}</button>
        <button type="button" className="btn" onClick={() => void pick(true)}>{t('files.addFolder')}</button>
        <button type="button" className="btn" onClick={() => startEdit({ kind: 'mkdir' })}>{t('files.newFolder')}</button>
      </div>
      <div className="toolbar">
        <input type="search" className="search" aria-label={t('files.search')} placeholder={t('files.search')} value={query} onChange={(e) => setQuery(e.target.value)} />
        {selectedEntries.length > 0 && (
          <span className="row selection" role="group" aria-label={t('files.selection')}>
            <span>{t('files.selected', { count: selectedEntries.length })}</span>
            <button type="button" className="btn small" onClick={() => startEdit({ kind: 'move', entries: selectedEntries })}>{t('files.move')}</button>
            <button type="button" className="btn small danger" onClick={() => startEdit({ kind: 'delete', entries: selectedEntries })}>{t('files.delete')}</button>
            <button type="button" className="btn small" onClick={() => setSelected(new Set())}>{t('files.clearSelection')}</button>
          </span>
        )}
      </div>
      {status && <div className="alert info" role="status">{status}</div>}
      {deleted && <UndoBar vaultId={vault.id} deleted={deleted} onDone={() => { setDeleted(null); void load(); }} />}
      {error && <div className="alert error" role="alert">{error}</div>}
      {versionsOf && <VersionsPanel vaultId={vault.id} path={versionsOf} browser={browser} onClose={() => setVersionsOf(null)} onChanged={() => void load()} />}
      {edit && (
        <form className="card" onSubmit={(e) => { e.preventDefault(); void submitEdit(); }} aria-label={t('files.editForm')}>
          {edit.kind === 'delete' && (
            <p className="truncate" title={edit.entries.map((x) => x.name).join(', ')}>
              {t('trash.confirmDelete', { count: edit.entries.length, name: (edit.entries[0] as EntryInfo).name })}
              {edit.entries.some((x) => x.type === 'dir') ? ` ${t('trash.confirmDeleteFolders')}` : ''}
            </p>
          )}
          {edit.kind === 'move' && (
            <label className="field">
              <span>{t('files.moveTo', { what: editLabel })}</span>
              <select aria-label={t('files.destination')} value={text} onChange={(e) => setText(e.target.value)} disabled={!folders}>
                {(folders ?? [text]).map((f) => <option key={f} value={f}>{f === '/' ? t('files.topFolderOption') : f}</option>)}
              </select>
            </label>
          )}
          {(edit.kind === 'mkdir' || edit.kind === 'rename') && (
            <label className="field">
              <span className="truncate">{edit.kind === 'mkdir' ? t('files.newFolderName') : t('files.newNameFor', { name: edit.entry.name })}</span>
              <input value={text} onChange={(e) => { setText(e.target.value); setFormError(null); }} autoFocus aria-label={edit.kind === 'mkdir' ? t('files.newFolderName') : t('files.newName')} />
            </label>
          )}
          {formError && <div className="alert error" role="alert">{formError}</div>}
          <div className="toolbar">
            <button type="submit" className={`btn ${edit.kind === 'delete' ? 'danger' : 'primary'}`} disabled={(edit.kind === 'mkdir' || edit.kind === 'rename') && !text.trim()}>
              {edit.kind === 'mkdir' ? t('files.createFolder') : edit.kind === 'rename' ? t('files.rename') : edit.kind === 'move' ? t('files.moveBtn') : edit.entries.length === 1 ? t('files.deleteBtn') : t('files.deleteN', { count: edit.entries.length })}
            </button>
            <button type="button" className="btn" onClick={() => setEdit(null)}>{t('common.cancel')}</button>
          </div>
        </form>
      )}
      <Conflicts vaultId={vault.id} conflicts={conflicts} onResolved={() => void load()} />
      {recent.length > 0 && path === '/' && query === '' && (
        <nav className="recent" aria-label={t('files.recent')}>
          <span className="muted">{t('files.recentLabel')}</span>
          {recent.map((r) => (
            <button type="button" key={r.path} className="btn small truncate" title={r.path} onClick={() => setPath(parentOf(r.path))}>{r.name}</button>
          ))}
        </nav>
      )}
      <div
        className={`dropzone ${dragging ? 'active' : ''}`}
        onDragEnter={(e) => { e.preventDefault(); dragDepth.current++; if (!internalDrag.current) setDragging(true); }}
        onDragOver={(e) => { e.preventDefault(); e.dataTransfer.dropEffect = internalDrag.current ? 'move' : 'copy'; }}
        onDragLeave={() => { dragDepth.current = Math.max(0, dragDepth.current - 1); if (dragDepth.current === 0) setDragging(false); }}
        onDrop={(e) => onDropInto(path, e)}
        data-testid="dropzone"
        aria-label={t('files.dropzone')}
      >
        {entries && entries.length === 0 && (
          <div className="empty">
            <h2>{path === '/' ? t('files.emptyVault') : t('files.emptyFolder')}</h2>
            <p><Trans i18nKey="files.emptyHint" components={{ b: <strong /> }} /></p>
          </div>
        )}
        {entries && entries.length > 0 && shown.length === 0 && <p className="muted">{t('files.noMatch', { query })}</p>}
        {entries && shown.length > 0 && (
          <VirtualTable
            label={t('files.table')}
            className="file-table"
            testId="file-table"
            columns={5}
            rowHeight={ROW_HEIGHT}
            colgroup={<colgroup><col className="c-sel" /><col /><col className="c-size" /><col className="c-date" /><col className="c-actions" /></colgroup>}
            head={
              <tr aria-rowindex={1}>
                <th className="c-sel"><input type="checkbox" aria-label={t('files.selectAll')} checked={selectedEntries.length === shown.length} onChange={(e) => setSelected(e.target.checked ? new Set(shown.map((x) => x.path)) : new Set())} /></th>
                {sortHeader('name', '')}
                {sortHeader('size', 'c-size')}
                {sortHeader('mtime', 'c-date')}
                <th className="actions c-actions">{t('files.actions')}</th>
              </tr>
            }
            lead={path !== '/' && (
              <tr aria-rowindex={2} onDragOver={(e) => e.preventDefault()} onDrop={(e) => onDropInto(parentOf(path), e)}>
                <td />
                <td colSpan={4}><button type="button" className="entry-name dir" onClick={() => setPath(parentOf(path))} aria-label={t('files.up')}><UpIcon /> ..</button></td>
              </tr>
            )}
            count={shown.length}
            getKey={keyOf}
            renderRow={(i, v) => {
              const e = shown[i] as EntryInfo;
              return <FileRow key={e.path} entry={e} measure={v.ref} index={v['data-index']} rowIndex={v['aria-rowindex']} selected={selected.has(e.path)} error={rowError?.path === e.path ? rowError.message : null} browser={browser} act={rowActions} />;
            }}
          />
        )}
      </div>
    </div>
  );
}

interface RowActions {
  dragStart: (e: EntryInfo, ev: DragEvent) => void;
  dragEnd: () => void;
  dropInto: (dir: string, ev: DragEvent) => void;
  toggle: (path: string) => void;
  go: (path: string) => void;
  open: (e: EntryInfo) => void;
  exportEntry: (e: EntryInfo) => void;
  edit: (e: Edit) => void;
  versions: (path: string) => void;
  dismissError: () => void;
}

interface FileRowProps {
  entry: EntryInfo;
  /** From the virtual table: its measuring ref, the row's index in the list and its aria-rowindex. */
  measure: (el: HTMLTableRowElement | null) => void;
  index: number;
  rowIndex: number;
  selected: boolean;
  error: string | null;
  browser: boolean;
  act: RowActions;
}

/** One entry of the list (and the error of an action taken on it, under it). */
const FileRow = memo(function FileRow({ entry: e, measure, index, rowIndex, selected, error, browser, act }: FileRowProps) {
  const { t } = useTranslation();
  // Measured again when the error under the row comes or goes (the row and its error are one item).
  const ref = useCallback((el: HTMLTableRowElement | null) => measure(el), [measure, error]);
  return (
    <RowWithError error={error} onDismiss={act.dismissError}>
      <tr
        ref={ref}
        data-index={index}
        aria-rowindex={rowIndex}
        aria-label={e.name}
        aria-selected={selected}
        draggable
        onDragStart={(ev) => act.dragStart(e, ev)}
        onDragEnd={act.dragEnd}
        onDragOver={e.type === 'dir' ? (ev) => { ev.preventDefault(); ev.stopPropagation(); } : undefined}
        onDrop={e.type === 'dir' && !e.conflict ? (ev) => act.dropInto(e.path, ev) : undefined}
        className={selected ? 'selected' : undefined}
      >
        <td className="c-sel"><input type="checkbox" aria-label={t('files.selectOne', { name: e.name })} checked={selected} onChange={() => act.toggle(e.path)} /></td>
        <td className="name-cell">
          {e.type === 'dir' ? (
            <button type="button" className="entry-name dir" onClick={() => act.go(e.path)} title={e.name}><FolderIcon /> <span className="truncate">{e.name}</span></button>
          ) : (
            <button type="button" className="entry-name" onDoubleClick={() => act.open(e)} title={e.name}><FileIcon /> <span className="truncate">{e.name}</span></button>
          )}
          {e.conflict && <span className="badge" style={{ marginLeft: 6 }}>{t('files.conflict')}</span>}
        </td>
        <td className="c-size">{e.type === 'dir' ? '—' : formatBytes(e.size)}</td>
        <td className="c-date" title={formatDate(e.mtime)}>{formatShortDate(e.mtime)}</td>
        <td className="actions c-actions">
          {e.type === 'file' && <button type="button" className="btn small icon" onClick={() => act.open(e)} aria-label={t('files.openName', { name: e.name })} title={t('files.open')}>{t('files.open')}</button>}
          {(e.type === 'file' || browser) && <button type="button" className="btn small icon" onClick={() => act.exportEntry(e)} aria-label={t('files.exportName', { name: e.name })} title={e.type === 'dir' ? t('files.exportZip') : t('files.exportCopy')}>{t('files.export')}</button>}
          <MoreMenu name={e.name}>
            <button type="button" className="btn small" onClick={() => act.edit({ kind: 'rename', entry: e })} aria-label={t('files.renameName', { name: e.name })}>{t('files.rename')}</button>
            <button type="button" className="btn small" onClick={() => act.edit({ kind: 'move', entries: [e] })} aria-label={t('files.moveName', { name: e.name })}>{t('files.move')}</button>
            {e.type === 'file' && !e.conflict && <button type="button" className="btn small" onClick={() => act.versions(e.path)} aria-label={t('versions.actionLabel', { name: e.name })}>{t('versions.action')}</button>}
            <button type="button" className="btn small danger" onClick={() => act.edit({ kind: 'delete', entries: [e] })} aria-label={t('files.deleteName', { name: e.name })}>{t('files.delete')}</button>
          </MoreMenu>
        </td>
      </tr>
    </RowWithError>
  );
});

/** A row, and under it the error of an action taken on that row (cleared when one succeeds). */
function RowWithError({ children, error, onDismiss }: { children: ReactNode; error: string | null; onDismiss: () => void }) {
  const { t } = useTranslation();
  return (
    <>
      {children}
      {error && (
        <tr className="row-error">
          <td />
          <td colSpan={4}>
            <div className="alert error" role="alert">
              {error} <button type="button" className="btn link" onClick={onDismiss}>{t('common.dismiss')}</button>
            </div>
          </td>
        </tr>
      )}
    </>
  );
}

/** Rename, move and delete behind one "⋯" button, so the actions column stays narrow. */
function MoreMenu({ name, children }: { name: string; children: ReactNode }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: Event) => {
      if (e instanceof KeyboardEvent ? e.key === 'Escape' : !ref.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('pointerdown', close);
      document.removeEventListener('keydown', close);
    };
  }, [open]);
  return (
    <span className="more" ref={ref}>
      <button type="button" className="btn small icon" aria-haspopup="true" aria-expanded={open} aria-label={t('files.more', { name })} title={t('files.moreTitle')} onClick={() => setOpen(!open)}>⋯</button>
      {open && (
        <span className="more-menu" role="group" aria-label={t('files.actionsFor', { name })} onClick={() => setOpen(false)}>
          {children}
        </span>
      )}
    </span>
  );
}
