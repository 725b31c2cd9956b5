import { useEffect, useState } from 'react';
import type { HardwareKey, Settings, TokenInfo } from '../../preload/contract';
import i18next from 'i18next';
import { Trans, useTranslation } from 'react-i18next';
import { coffer, errorHelp, errorOf, errorText, formatDate, useAction } from '../util';

/**
 * Errors about drivers and tokens in the words of someone at a desktop, not a command line: the
 * catalog's sentence for the codes a person can act on here (errors.*), main's message otherwise
 * (without its CLI hint about --module).
 */
const PLAIN = ['PKCS11_MODULE', 'TOKEN_NOT_FOUND', 'PIN_INCORRECT', 'PIN_LOCKED'] as const;
function plainWords(e: unknown): { code: string; message: string } {
  const err = errorOf(e);
  const plain = PLAIN.find((c) => c === err.code);
  if (plain) return { code: err.code, message: [i18next.t(`errors.${plain}`), plain.startsWith('PIN_') ? errorHelp(plain) : null].filter(Boolean).join(' ') };
  return { code: err.code, message: errorText({ code: err.code, message: err.message.replace(/,? or (pass|give the module path with) --module[^;.]*/g, '') }) };
}

const SLOTS = ['9d', ...Array.from({ length: 14 }, (_, i) => (0x82 + i).toString(16))];

export function HardwareKeys({ settings }: { settings: Settings | null }) {
  const { t } = useTranslation();
  const [modulePath, setModulePath] = useState(settings?.pkcs11Module ?? '');
  const [detected, setDetected] = useState<{ module: string; tokens: TokenInfo[] } | null>(null);
  const [enrolled, setEnrolled] = useState<HardwareKey[] | null>(null);
  const [serial, setSerial] = useState('');
  const [slot, setSlot] = useState('9d');
  const [mode, setMode] = useState<'generate' | 'existing'>('generate');
  const [label, setLabel] = useState('');
  const [pin, setPin] = useState('');

  const load = () => coffer().hwkeys.list().then(setEnrolled, (e: unknown) => list.setError(errorText(e)));
  // Each form shows its own errors and messages, next to it; a success clears them.
  const list = useAction(load);
  const det = useAction(load);
  const enr = useAction(load);
  const busy = list.busy || det.busy || enr.busy;
  useEffect(() => void load(), []);

  const scan = async () => {
    try {
      const r = await coffer().hwkeys.detect({ modulePath });
      setDetected(r);
      if (r.tokens[0] && !r.tokens.some((t) => t.serial === serial)) setSerial(r.tokens[0].serial);
      return r;
    } catch (e) {
      throw plainWords(e);
    }
  };
  const detect = () => det.run(async () => {
    const r = await scan();
    return r.tokens.length === 0 ? null : t('hw.found', { count: r.tokens.length });
  });
  const enroll = () => enr.run(async () => {
    try {
      const k = await coffer().hwkeys.enroll({ modulePath, serial, slot, mode, label: label.trim(), pin });
      setPin('');
      setLabel('');
      await scan(); // the token card shows the key it now holds
      return t('hw.enrolledMsg', { name: k.label, fp: k.fingerprint });
    } catch (e) {
      throw plainWords(e);
    }
  });

  return (
    <section aria-labelledby="hw-title">
      <h1 id="hw-title">{t('hw.title')}</h1>
      <p className="muted">{t('hw.intro')}</p>
      <h2>{t('hw.enrolled')}</h2>
      {list.status && <div className="alert ok" role="status">{list.status}</div>}
      {list.error && <div className="alert error" role="alert">{list.error}</div>}
      {enrolled && enrolled.length === 0 && <div className="empty"><h2>{t('hw.noneTitle')}</h2><p><Trans i18nKey="hw.noneHint" components={{ b: <strong /> }} /></p></div>}
      {enrolled && enrolled.length > 0 && (
        <table aria-label={t('hw.table')}>
          <thead><tr><th>{t('common.name')}</th><th>{t('hw.token')}</th><th>{t('common.fingerprint')}</th><th>{t('hw.enrolledAt')}</th><th className="actions" /></tr></thead>
          <tbody>
            {enrolled.map((h) => (
              <tr key={h.id}>
                <td>{h.label}</td>
                <td>{h.tokenLabel} <span className="muted">{t('hw.serial', { serial: h.serial })}</span></td>
                <td className="mono">{h.fingerprint}</td>
                <td>{formatDate(h.created)}</td>
                <td className="actions"><button type="button" className="btn small danger" onClick={() => void list.run(async () => { await coffer().hwkeys.remove({ hwkeyId: h.id }); return t('hw.removed', { name: h.label }); })} aria-label={t('hw.removeName', { name: h.label })}>{t('common.remove')}</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>{t('hw.find')}</h2>
      <p className="muted"><Trans i18nKey="hw.findIntro" components={{ b: <strong /> }} /></p>
      <form className="row" style={{ maxWidth: 720 }} onSubmit={(e) => { e.preventDefault(); void detect(); }}>
        <input aria-label={t('hw.module')} value={modulePath} readOnly placeholder={t('hw.modulePlaceholder')} title={modulePath || t('hw.auto')} />
        <button type="button" className="btn" onClick={() => void coffer().dialog.pickModule({ title: t('hw.pickModule') }).then((r) => { if (r.path) setModulePath(r.path); }, (e: unknown) => det.setError(errorText(e)))}>{t('common.choose')}</button>
        {modulePath && <button type="button" className="btn" onClick={() => setModulePath('')}>{t('hw.useAuto')}</button>}
        <button type="submit" className="btn" disabled={busy}>{t('hw.detect')}</button>
      </form>
      {det.status && <div className="alert ok" role="status">{det.status}</div>}
      {det.error && <div className="alert error" role="alert">{det.error}</div>}
      {detected && detected.tokens.length === 0 && <p className="muted">{t('hw.noToken', { module: detected.module })}</p>}
      {detected && detected.tokens.map((tok) => (
        <div key={tok.serial} className="card" style={{ marginTop: 10 }} aria-label={t('hw.tokenLabel', { label: tok.label })}>
          <strong>{tok.label}</strong> <span className="muted">{t('hw.tokenDetail', { manufacturer: tok.manufacturer, model: tok.model, serial: tok.serial })}</span>
          {tok.keys.length === 0 ? <p className="muted">{t('hw.noKey')}</p> : (
            <ul>{tok.keys.map((k) => <li key={k.id}>{k.label || t('hw.key')} <span className="muted">{t('hw.keyDetail', { curve: k.curve, id: k.id })}</span> <span className="mono">{k.fingerprint}</span></li>)}</ul>
          )}
        </div>
      ))}

      {detected && detected.tokens.length > 0 && (
        <>
          <h2>{t('hw.enroll')}</h2>
          <form onSubmit={(e) => { e.preventDefault(); void enroll(); }}>
            <label className="field"><span>{t('hw.token')}</span>
              <select value={serial} onChange={(e) => setSerial(e.target.value)}>{detected.tokens.map((tok) => <option key={tok.serial} value={tok.serial}>{t('hw.tokenOption', { label: tok.label, serial: tok.serial })}</option>)}</select>
            </label>
            <label className="field"><span>{t('hw.slot')}</span>
              <select value={slot} onChange={(e) => setSlot(e.target.value)}>{SLOTS.map((s) => <option key={s} value={s}>{s === '9d' ? t('hw.slotKm', { slot: s }) : t('hw.slotRetired', { slot: s })}</option>)}</select>
            </label>
            <fieldset>
              <legend>{t('hw.keyLegend')}</legend>
              <label className="check"><input type="radio" name="mode" checked={mode === 'generate'} onChange={() => setMode('generate')} /><span>{t('hw.generate')}</span></label>
              <label className="check"><input type="radio" name="mode" checked={mode === 'existing'} onChange={() => setMode('existing')} /><span>{t('hw.existing')}</span></label>
            </fieldset>
            <label className="field"><span>{t('common.name')}</span><input value={label} onChange={(e) => setLabel(e.target.value)} placeholder={t('hw.namePlaceholder')} /></label>
            <label className="field"><span>{t('hw.pin')}</span><input aria-label={t('hw.pin')} type="password" value={pin} onChange={(e) => setPin(e.target.value)} autoComplete="off" /><span className="hint">{t('hw.pinHint')}</span></label>
            {enr.error && <div className="alert error" role="alert">{enr.error}</div>}
            {enr.status && <div className="alert ok" role="status">{enr.status}</div>}
            <button type="submit" className="btn primary" disabled={busy || !label.trim() || !pin || !serial}>{enr.busy ? t('hw.enrolling') : t('hw.enroll')}</button>
          </form>
        </>
      )}
    </section>
  );
}
