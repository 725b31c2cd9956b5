import { useEffect, useRef, useState } from 'react';
import type { EventOf, PickerListing } from '../preload/contract';
import { useTranslation } from 'react-i18next';
import { coffer, errorText } from './util';

type Request = EventOf<'event:picker'>;

/**
 * The in-app picker (browser window only): main asks for it with event:picker when the app needs a
 * folder or file and there is no native dialog. Main lists folders (only your home folder and
 * mounted volumes) and checks the choice before using it.
 */
export function Picker() {
  const { t } = useTranslation();
  const [req, setReq] = useState<Request | null>(null);
  const [listing, setListing] = useState<PickerListing | null>(null);
  const [location, setLocation] = useState('');
  const [selected, setSelected] = useState<string[]>([]);
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const returnFocus = useRef<HTMLElement | null>(null);
  const locationRef = useRef<HTMLInputElement>(null);

  const seq = useRef(0);
  const go = async (r: Request, dir?: string) => {
    setError(null);
    const mine = ++seq.current;
    try {
      const l = await coffer().picker.list({ pickerId: r.pickerId, ...(dir ? { dir } : {}) });
      if (mine !== seq.current) return; // a later request won
      setListing(l);
      setLocation(l.dir);
      setSelected([]);
    } catch (e) {
      setError(errorText(e));
    }
  };

  useEffect(
    () =>
      coffer().on.picker((r) => {
        returnFocus.current = document.activeElement as HTMLElement | null;
        setReq(r);
        setName(r.defaultName);
        setListing(null);
        void go(r, r.start);
      }),
    [],
  );
  useEffect(() => {
    if (req) locationRef.current?.focus();
  }, [req]);

  if (!req) return null;

  const close = async (paths: string[] | null) => {
    try {
      await coffer().picker.done({ pickerId: req.pickerId, paths });
      setReq(null);
      returnFocus.current?.focus();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const join = (dir: string, n: string) => `${dir.replace(/[\\/]+$/, '')}${dir.includes('\\') && !dir.includes('/') ? '\\' : '/'}${n}`;
  const pickFiles = req.mode === 'files' || req.mode === 'module';
  const choose = () => {
    if (!listing) return;
    if (req.mode === 'save') void close([join(listing.dir, name.trim())]);
    else if (pickFiles) void close(selected);
    else void close([listing.dir]);
  };

  return (
    <div style={{ position: 'fixed', inset: 0, background: 'rgba(0,0,0,0.45)', display: 'flex', alignItems: 'center', justifyContent: 'center', zIndex: 50 }}>
      <div role="dialog" aria-modal="true" aria-label={req.title} data-testid="picker" className="card" style={{ width: 'min(760px, 92vw)', maxHeight: '86vh', display: 'flex', flexDirection: 'column', gap: 10 }}
        onKeyDown={(e) => { if (e.key === 'Escape') void close(null); }}>
        <h2 style={{ margin: 0 }}>{req.title}</h2>
        <form className="row" onSubmit={(e) => { e.preventDefault(); void go(req, location.trim()); }}>
          <input ref={locationRef} aria-label={t('picker.location')} value={location} onChange={(e) => setLocation(e.target.value)} />
          <button type="submit" className="btn">{t('picker.go')}</button>
          <button type="button" className="btn" disabled={!listing?.parent} onClick={() => listing?.parent && void go(req, listing.parent)}>{t('picker.up')}</button>
        </form>
        {listing && (
          <div className="row" role="group" aria-label={t('picker.places')}>
            {listing.roots.map((r) => <button key={r.path} type="button" className="btn small" onClick={() => void go(req, r.path)}>{r.label}</button>)}
          </div>
        )}
        {error && <div className="alert error" role="alert">{error}</div>}
        <ul aria-label={t('picker.contents')} data-dir={listing?.dir ?? ''} style={{ listStyle: 'none', margin: 0, padding: 0, overflow: 'auto', flex: 1, minHeight: 160 }}>
          {listing?.entries.length === 0 && <li className="muted">{t('picker.empty')}</li>}
          {listing?.entries.map((e) => (
            <li key={e.path}>
              {e.type === 'dir' ? (
                <button type="button" className="btn link" onClick={() => void go(req, e.path)}>📁 {e.name}</button>
              ) : (
                <label className="check">
                  {pickFiles ? (
                    <input type={req.mode === 'files' ? 'checkbox' : 'radio'} name="picker-file" checked={selected.includes(e.path)}
                      onChange={() => setSelected(req.mode === 'files' ? (selected.includes(e.path) ? selected.filter((x) => x !== e.path) : [...selected, e.path]) : [e.path])} />
                  ) : null}
                  <span onClick={() => req.mode === 'save' && setName(e.name)}>{e.name}</span>
                </label>
              )}
            </li>
          ))}
        </ul>
        {req.mode === 'save' && (
          <label className="field"><span>{t('picker.fileName')}</span><input value={name} onChange={(e) => setName(e.target.value)} /></label>
        )}
        <div className="row" style={{ justifyContent: 'flex-end' }}>
          <button type="button" className="btn" onClick={() => void close(null)}>{t('common.cancel')}</button>
          <button type="button" className="btn primary" onClick={choose} disabled={!listing || (pickFiles && selected.length === 0) || (req.mode === 'save' && !name.trim())}>
            {req.mode === 'save' ? t('picker.save') : pickFiles ? t('picker.choose') : t('picker.chooseFolder')}
          </button>
        </div>
      </div>
    </div>
  );
}
