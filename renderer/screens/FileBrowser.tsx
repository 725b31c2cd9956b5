import { useCallback, useEffect, useRef, useState, type DragEvent } from 'react';
import type { ConflictInfo, EntryInfo, JobInfo, VaultSummary } from '../../preload/contract';
import { coffer, errorOf, formatBytes, formatDate, joinPath, parentOf } from '../util';
import { FileIcon, FolderIcon, UpIcon } from '../icons';

type Edit =
  | { kind: 'mkdir' }
  | { kind: 'rename'; entry: EntryInfo }
  | { kind: 'move'; entry: EntryInfo }
  | { kind: 'delete'; entry: EntryInfo };

function Breadcrumbs({ path, onGo }: { path: string; onGo: (p: string) => void }) {
  const parts = path.split('/').filter(Boolean);
  return (
    <nav className="breadcrumbs" aria-label="Folder">
      <button type="button" onClick={() => onGo('/')} aria-current={parts.length === 0 ? 'location' : undefined}>Vault</button>
      {parts.map((p, i) => {
        const target = `/${parts.slice(0, i + 1).join('/')}`;
        return (
          <span key={target}>
            <span className="muted" aria-hidden="true">›</span>
            <button type="button" onClick={() => onGo(target)} aria-current={i === parts.length - 1 ? 'location' : undefined}>{p}</button>
          </span>
        );
      })}
    </nav>
  );
}

function Conflicts({ vaultId, conflicts, onResolved }: { vaultId: string; conflicts: ConflictInfo[]; onResolved: () => void }) {
  const [error, setError] = useState<string | null>(null);
  if (conflicts.length === 0) return null;
  const resolve = async (path: string, keep: 'both' | 'mine' | 'theirs') => {
    try {
      await coffer().files.resolveConflict({ vaultId, path, keep });
      onResolved();
    } catch (e) {
      setError(errorOf(e).message);
    }
  };
  return (
    <section className="card conflict" aria-labelledby="conflicts-title">
      <h2 id="conflicts-title" style={{ marginTop: 0 }}>{conflicts.length} sync conflict{conflicts.length === 1 ? '' : 's'}</h2>
      <p className="muted">A sync client kept two versions of these entries. Both are safe; choose which to keep, or keep both under different names.</p>
      {error && <div className="alert error" role="alert">{error}</div>}
      {conflicts.map((c) => (
        <div key={c.path} aria-label={`Conflict ${c.path}`}>
          <h3 className="mono">{c.path}</h3>
          <div className="versions">
            {c.versions.map((v) => (
              <div key={v.id}>
                <strong>{v.origin}</strong>
                <div>{v.name}</div>
                <div className="muted">{formatBytes(v.size)} · {formatDate(v.mtime)}</div>
              </div>
            ))}
          </div>
          <div className="toolbar">
            <button type="button" className="btn" onClick={() => void resolve(c.path, 'both')}>Keep both</button>
            <button type="button" className="btn" onClick={() => void resolve(c.path, 'mine')}>Keep this copy</button>
            <button type="button" className="btn" onClick={() => void resolve(c.path, 'theirs')}>Keep the other copy</button>
          </div>
        </div>
      ))}
    </section>
  );
}

export function FileBrowser({ vault, jobs }: { vault: VaultSummary; jobs: JobInfo[] }) {
  const [path, setPath] = useState('/');
  const [entries, setEntries] = useState<EntryInfo[] | null>(null);
  const [conflicts, setConflicts] = useState<ConflictInfo[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [uploads, setUploads] = useState(false);
  useEffect(() => void coffer().app.info().then((i) => setUploads(i.shell === 'browser'), () => undefined), []);
  const [edit, setEdit] = useState<Edit | null>(null);
  const [text, setText] = useState('');
  const [dragging, setDragging] = useState(false);
  const dragDepth = useRef(0);

  const load = useCallback(async () => {
    try {
      const r = await coffer().files.list({ vaultId: vault.id, path });
      setEntries(r.entries);
      setConflicts(r.conflicts);
      setError(null);
    } catch (e) {
      const err = errorOf(e);
      if (err.code === 'NOT_FOUND' && path !== '/') setPath(parentOf(path));
      else setError(err.message);
    }
  }, [vault.id, path]);

  useEffect(() => void load(), [load]);

  // Reload when one of this vault's jobs finishes.
  const finished = jobs.filter((j) => j.vaultId === vault.id && j.finishedAt !== null).length;
  useEffect(() => {
    if (finished > 0) void load();
  }, [finished, load]);

  useEffect(() => coffer().on.conflicts((c) => {
    if (c.vaultId === vault.id) void load();
  }), [vault.id, load]);

  const run = async (what: () => Promise<unknown>, done?: string) => {
    setError(null);
    setStatus(null);
    try {
      await what();
      if (done) setStatus(done);
      setEdit(null);
      await load();
    } catch (e) {
      setError(errorOf(e).message);
    }
  };

  const addPaths = (sources: string[]) => {
    if (sources.length === 0) return;
    void run(() => coffer().files.add({ vaultId: vault.id, sources, to: path }));
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    dragDepth.current = 0;
    setDragging(false);
    if (uploads) {
      // Browser window: the files have no path main may read, so they are uploaded (read now, while the drop lasts).
      const started = coffer().files.upload({ vaultId: vault.id, to: path, data: e.dataTransfer });
      void run(() => started);
      return;
    }
    const paths = Array.from(e.dataTransfer.files).map((f) => coffer().files.pathForFile(f)).filter((p) => p !== '');
    if (paths.length === 0) setError('Those items have no path on this computer (drag files from a folder, not from a web page).');
    else addPaths(paths);
  };

  const pick = async (folders: boolean) => {
    const r = await coffer().dialog.pickFiles({ title: folders ? 'Add folders to the vault' : 'Add files to the vault', folders });
    addPaths(r.paths);
  };

  const exportEntry = async (entry: EntryInfo) => {
    const r = await coffer().dialog.saveFile({ title: `Export ${entry.name}`, defaultName: entry.name });
    if (!r.path) return;
    const dest = r.path;
    await run(() => coffer().files.export({ vaultId: vault.id, path: entry.path, dest }), `Exporting ${entry.name} to ${dest}…`);
  };

  const startEdit = (e: Edit) => {
    setEdit(e);
    setText(e.kind === 'rename' ? e.entry.name : e.kind === 'move' ? parentOf(e.entry.path) : '');
  };

  const submitEdit = () => {
    if (!edit) return;
    if (edit.kind === 'mkdir') void run(() => coffer().files.mkdir({ vaultId: vault.id, path: joinPath(path, text.trim()) }));
    if (edit.kind === 'rename') void run(() => coffer().files.move({ vaultId: vault.id, from: edit.entry.path, to: joinPath(parentOf(edit.entry.path), text.trim()) }));
    if (edit.kind === 'move') void run(() => coffer().files.move({ vaultId: vault.id, from: edit.entry.path, to: joinPath(text.trim() || '/', edit.entry.name) }));
    if (edit.kind === 'delete') void run(() => coffer().files.remove({ vaultId: vault.id, path: edit.entry.path, recursive: edit.entry.type === 'dir' }), `Deleted ${edit.entry.name}.`);
  };

  return (
    <div>
      <div className="toolbar">
        <Breadcrumbs path={path} onGo={setPath} />
        <span className="spacer" />
        <button type="button" className="btn primary" onClick={() => void pick(false)}>Add files…</button>
        <button type="button" className="btn" onClick={() => void pick(true)}>Add folder…</button>
        <button type="button" className="btn" onClick={() => startEdit({ kind: 'mkdir' })}>New folder</button>
      </div>
      {status && <div className="alert info" role="status">{status}</div>}
      {error && <div className="alert error" role="alert">{error}</div>}
      {edit && (
        <form className="card" onSubmit={(e) => { e.preventDefault(); submitEdit(); }} aria-label="Edit">
          {edit.kind === 'delete' ? (
            <p>Delete <strong>{edit.entry.name}</strong>{edit.entry.type === 'dir' ? ' and everything in it' : ''} from the vault? Its encrypted content is removed from the folder.</p>
          ) : (
            <label className="field">
              <span>{edit.kind === 'mkdir' ? 'New folder name' : edit.kind === 'rename' ? `New name for ${edit.entry.name}` : `Move ${edit.entry.name} to folder`}</span>
              <input value={text} onChange={(e) => setText(e.target.value)} autoFocus placeholder={edit.kind === 'move' ? '/Reports/2026' : ''} />
            </label>
          )}
          <div className="toolbar">
            <button type="submit" className={`btn ${edit.kind === 'delete' ? 'danger' : 'primary'}`} disabled={edit.kind !== 'delete' && edit.kind !== 'move' && !text.trim()}>
              {edit.kind === 'mkdir' ? 'Create folder' : edit.kind === 'rename' ? 'Rename' : edit.kind === 'move' ? 'Move' : 'Delete'}
            </button>
            <button type="button" className="btn" onClick={() => setEdit(null)}>Cancel</button>
          </div>
        </form>
      )}
      <Conflicts vaultId={vault.id} conflicts={conflicts} onResolved={() => void load()} />
      <div
        className={`dropzone ${dragging ? 'active' : ''}`}
        onDragEnter={(e) => { e.preventDefault(); dragDepth.current++; setDragging(true); }}
        onDragOver={(e) => { e.preventDefault(); e.dataTransfer.dropEffect = 'copy'; }}
        onDragLeave={() => { dragDepth.current = Math.max(0, dragDepth.current - 1); if (dragDepth.current === 0) setDragging(false); }}
        onDrop={onDrop}
        data-testid="dropzone"
        aria-label="Files in this folder; drop files or folders here to add them"
      >
        {entries && entries.length === 0 && (
          <div className="empty">
            <h2>{path === '/' ? 'This vault is empty' : 'This folder is empty'}</h2>
            <p>Drag files or folders here, or use <strong>Add files…</strong>. They are encrypted on this computer before anything is written to the vault folder.</p>
          </div>
        )}
        {entries && entries.length > 0 && (
          <table aria-label="Files">
            <thead><tr><th>Name</th><th>Size</th><th>Modified</th><th className="actions">Actions</th></tr></thead>
            <tbody>
              {path !== '/' && (
                <tr><td colSpan={4}><button type="button" className="entry-name dir" onClick={() => setPath(parentOf(path))}><UpIcon /> ..</button></td></tr>
              )}
              {entries.map((e) => (
                <tr
                  key={e.path}
                  aria-label={e.name}
                  draggable={e.type === 'file'}
                  onDragStart={(ev) => {
                    if (e.type !== 'file') return;
                    // The OS drag is started by main once the file is decrypted into the private temp folder.
                    ev.preventDefault();
                    coffer().files.dragOut({ vaultId: vault.id, path: e.path }).catch((err: unknown) => setError(errorOf(err).message));
                  }}
                >
                  <td>
                    {e.type === 'dir' ? (
                      <button type="button" className="entry-name dir" onClick={() => setPath(e.path)}><FolderIcon /> {e.name}</button>
                    ) : (
                      <button type="button" className="entry-name" onDoubleClick={() => void run(() => coffer().files.open({ vaultId: vault.id, path: e.path }))} title="Double-click to open"><FileIcon /> {e.name}</button>
                    )}
                    {e.conflict && <span className="badge" style={{ marginLeft: 6 }}>conflict</span>}
                  </td>
                  <td>{e.type === 'dir' ? '—' : formatBytes(e.size)}</td>
                  <td>{formatDate(e.mtime)}</td>
                  <td className="actions">
                    {e.type === 'file' && <button type="button" className="btn small" onClick={() => void run(() => coffer().files.open({ vaultId: vault.id, path: e.path }))} aria-label={`Open ${e.name}`}>Open</button>}{' '}
                    {e.type === 'file' && <button type="button" className="btn small" onClick={() => void exportEntry(e)} aria-label={`Export ${e.name}`}>Export…</button>}{' '}
                    <button type="button" className="btn small" onClick={() => startEdit({ kind: 'rename', entry: e })} aria-label={`Rename ${e.name}`}>Rename</button>{' '}
                    <button type="button" className="btn small" onClick={() => startEdit({ kind: 'move', entry: e })} aria-label={`Move ${e.name}`}>Move</button>{' '}
                    <button type="button" className="btn small danger" onClick={() => startEdit({ kind: 'delete', entry: e })} aria-label={`Delete ${e.name}`}>Delete</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </div>
  );
}
