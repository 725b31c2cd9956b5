import { useEffect, useRef, useState } from 'react';
import type { HardwareKey, MemberIdentity, TransitSettings } from '../../preload/contract';
import type { View } from '../App';
import { Trans, useTranslation } from 'react-i18next';
import { coffer, errorText } from '../util';
import { STRONG_ENOUGH, StrengthMeter, strengthOf } from '../strength';

const STEPS = ['folder', 'slots', 'recovery', 'create'] as const;

export function CreateVault(props: { onCancel: () => void; onCreated: (vaultId: string) => Promise<void>; goTo: (v: View) => void }) {
  const { t } = useTranslation();
  const [step, setStep] = useState(0);
  const [dir, setDir] = useState('');
  const [name, setName] = useState('');
  const [usePass, setUsePass] = useState(true);
  const [pass, setPass] = useState('');
  const [pass2, setPass2] = useState('');
  const [insist, setInsist] = useState(false);
  const [identities, setIdentities] = useState<MemberIdentity[]>([]);
  const [hwkeys, setHwkeys] = useState<HardwareKey[]>([]);
  const [transit, setTransit] = useState<TransitSettings | null>(null);
  const [idSel, setIdSel] = useState<string[]>([]);
  const [hwSel, setHwSel] = useState<string[]>([]);
  const [useTransit, setUseTransit] = useState(false);
  const [others, setOthers] = useState<{ recipient: string; label: string }[]>([]);
  const [otherRecipient, setOtherRecipient] = useState('');
  const [otherLabel, setOtherLabel] = useState('');
  const [recoveryPath, setRecoveryPath] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  // Each step starts with focus on its first field (or, on the last step, the Create button).
  useEffect(() => {
    formRef.current?.querySelector<HTMLElement>('input, button[type="submit"]')?.focus();
  }, [step]);

  useEffect(() => {
    coffer().identities.list().then(setIdentities, () => undefined);
    coffer().hwkeys.list().then(setHwkeys, () => undefined);
    coffer().transit.get().then(setTransit, () => undefined);
  }, []);

  const transitReady = !!transit && transit.address !== '' && transit.keyName !== '';
  const slotCount = (usePass ? 1 : 0) + idSel.length + hwSel.length + others.length + (useTransit ? 1 : 0);

  const weak = usePass && pass !== '' && strengthOf(pass, [name]).score < STRONG_ENOUGH;

  const check = async (): Promise<string | null> => {
    if (step === 0) {
      if (!dir.trim()) return t('create.err.noFolder');
      if (!name.trim()) return t('create.err.noName');
      // The folder is checked here, not at the last step.
      const { state } = await coffer().vaults.checkFolder({ dir: dir.trim() });
      if (state === 'not-empty') return t('create.err.notEmpty');
      if (state === 'vault') return t('create.err.isVault');
      if (state === 'not-a-folder') return t('create.err.notFolder');
    }
    if (step === 1) {
      if (usePass && pass.length < 8) return t('create.err.short');
      if (usePass && pass !== pass2) return t('create.err.mismatch');
      if (weak && !insist) return t('create.err.weak');
      if (slotCount === 0) return t('create.err.noSlot');
    }
    return null;
  };

  const next = async () => {
    setBusy(true);
    try {
      const problem = await check();
      setError(problem);
      if (!problem) setStep((s) => Math.min(STEPS.length - 1, s + 1));
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const pickDir = async () => {
    const r = await coffer().dialog.pickFolder({ title: t('create.pickFolder') });
    if (r.path) setDir(r.path);
  };
  const pickRecovery = async () => {
    const r = await coffer().dialog.saveFile({ title: t('create.saveRecovery'), defaultName: t('create.recoveryFile', { name: name || 'vault' }) });
    if (r.path) setRecoveryPath(r.path);
  };

  const create = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await coffer().vaults.create({
        dir: dir.trim(),
        name: name.trim(),
        passphrase: usePass ? pass : null,
        identityIds: idSel,
        recipients: others,
        hwkeyIds: hwSel,
        transit: useTransit,
        recoveryKeyPath: recoveryPath || null,
      });
      setPass('');
      setPass2('');
      await props.onCreated(r.vault.id);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const toggle = (list: string[], set: (l: string[]) => void, id: string) => set(list.includes(id) ? list.filter((x) => x !== id) : [...list, id]);

  return (
    <section aria-labelledby="create-title">
      <h1 id="create-title">{t('create.title')}</h1>
      <ol className="wizard-steps" aria-label={t('create.steps')}>
        {STEPS.map((s, i) => <li key={s} aria-current={i === step ? 'step' : undefined}>{t('create.stepN', { n: i + 1, name: t(`create.step.${s}`) })}</li>)}
      </ol>
      <form ref={formRef} onSubmit={(e) => { e.preventDefault(); if (step < STEPS.length - 1) void next(); else void create(); }}>
        {step === 0 && (
          <>
            <label className="field">
              <span>{t('create.folder')}</span>
              <span className="row">
                <input aria-label={t('create.folder')} value={dir} onChange={(e) => setDir(e.target.value)} placeholder={t('create.folderPlaceholder')} aria-describedby="dir-hint" />
                <button type="button" className="btn" onClick={() => void pickDir()}>{t('common.choose')}</button>
              </span>
              <span className="hint" id="dir-hint">{t('create.folderHint')}</span>
            </label>
            <label className="field">
              <span>{t('create.name')}</span>
              <input value={name} onChange={(e) => setName(e.target.value)} placeholder={t('create.namePlaceholder')} />
            </label>
          </>
        )}
        {step === 1 && (
          <>
            <p className="muted">{t('create.slotsIntro')}</p>
            <fieldset>
              <legend>{t('create.passphrase')}</legend>
              <label className="check"><input type="checkbox" checked={usePass} onChange={(e) => setUsePass(e.target.checked)} /><span>{t('create.usePassphrase')}</span></label>
              {usePass && (
                <>
                  <label className="field"><span>{t('create.passphrase')}</span><input type="password" value={pass} onChange={(e) => { setPass(e.target.value); setInsist(false); }} autoComplete="new-password" /></label>
                  <StrengthMeter passphrase={pass} userInputs={[name]} />
                  <label className="field"><span>{t('create.passphraseAgain')}</span><input type="password" value={pass2} onChange={(e) => setPass2(e.target.value)} autoComplete="new-password" /></label>
                  {weak && (
                    <label className="check"><input type="checkbox" checked={insist} onChange={(e) => setInsist(e.target.checked)} /><span>{t('create.insist')}</span></label>
                  )}
                  <span className="hint">{t('create.passHint')}</span>
                </>
              )}
            </fieldset>
            <fieldset>
              <legend>{t('create.memberKeys')}</legend>
              {identities.length === 0 && <p className="hint"><Trans i18nKey="create.noMemberKey" components={{ cta: <button type="button" className="btn link" onClick={() => props.goTo({ name: 'identities' })} /> }} /></p>}
              {identities.map((i) => (
                <label key={i.id} className="check">
                  <input type="checkbox" checked={idSel.includes(i.id)} onChange={() => toggle(idSel, setIdSel, i.id)} />
                  <span>{t('create.myKey', { label: i.label })} <span className="mono muted">{i.fingerprint}</span></span>
                </label>
              ))}
              {others.map((o, n) => (
                <div key={o.recipient} className="row"><span className="mono">{o.label || t('create.otherMember')}: {o.recipient.slice(0, 24)}…</span><button type="button" className="btn small" onClick={() => setOthers(others.filter((_, k) => k !== n))}>{t('common.remove')}</button></div>
              ))}
              <div className="row" style={{ marginTop: 6 }}>
                <input aria-label={t('create.recipient')} placeholder={t('create.recipientPlaceholder')} value={otherRecipient} onChange={(e) => setOtherRecipient(e.target.value)} />
                <input aria-label={t('create.theirName')} placeholder={t('common.name')} value={otherLabel} onChange={(e) => setOtherLabel(e.target.value)} style={{ maxWidth: 140 }} />
                <button type="button" className="btn" disabled={!otherRecipient.trim()} onClick={() => { setOthers([...others, { recipient: otherRecipient.trim(), label: otherLabel.trim() }]); setOtherRecipient(''); setOtherLabel(''); }}>{t('common.add')}</button>
              </div>
            </fieldset>
            <fieldset>
              <legend>{t('create.hardwareKeys')}</legend>
              {hwkeys.length === 0 && <p className="hint"><Trans i18nKey="create.noHwKey" components={{ cta: <button type="button" className="btn link" onClick={() => props.goTo({ name: 'hwkeys' })} /> }} /></p>}
              {hwkeys.map((h) => (
                <label key={h.id} className="check">
                  <input type="checkbox" checked={hwSel.includes(h.id)} onChange={() => toggle(hwSel, setHwSel, h.id)} />
                  <span>{h.label} <span className="muted">{t('create.hwKeyDetail', { token: h.tokenLabel, serial: h.serial })}</span> <span className="mono muted">{h.fingerprint}</span></span>
                </label>
              ))}
            </fieldset>
            <fieldset>
              <legend>{t('create.transit')}</legend>
              {transitReady ? (
                <label className="check">
                  <input type="checkbox" checked={useTransit} onChange={(e) => setUseTransit(e.target.checked)} />
                  <span><Trans i18nKey="create.useTransit" values={{ key: transit?.keyName ?? '', address: transit?.address ?? '' }} components={{ code: <code /> }} /></span>
                </label>
              ) : (
                <p className="hint"><Trans i18nKey="create.noTransit" components={{ cta: <button type="button" className="btn link" onClick={() => props.goTo({ name: 'transit' })} /> }} /></p>
              )}
            </fieldset>
          </>
        )}
        {step === 2 && (
          <>
            <p><Trans i18nKey="create.recoveryIntro" components={{ b: <strong /> }} /></p>
            <label className="field">
              <span>{t('create.recoveryTo')}</span>
              <span className="row">
                <input aria-label={t('create.recoveryTo')} value={recoveryPath} readOnly placeholder={t('create.notChosen')} />
                <button type="button" className="btn" onClick={() => void pickRecovery()}>{t('common.choose')}</button>
              </span>
              <span className="hint">{t('create.recoveryHint')}</span>
            </label>
          </>
        )}
        {step === 3 && (
          <div className="card">
            <h2 style={{ marginTop: 0 }}>{t('create.ready', { name })}</h2>
            <p><Trans i18nKey="create.readyFolder" values={{ dir }} components={{ code: <code /> }} /></p>
            <p>{t('create.summary', { count: slotCount, list: [usePass && t('create.sumPassphrase'), idSel.length > 0 && t('create.sumMine', { count: idSel.length }), others.length > 0 && t('create.sumOthers', { count: others.length }), hwSel.length > 0 && t('create.sumHw', { count: hwSel.length }), useTransit && t('create.sumTransit')].filter(Boolean).join(', ') })}</p>
            <p>{recoveryPath ? <Trans i18nKey="create.recoveryAt" values={{ path: recoveryPath }} components={{ code: <code /> }} /> : t('create.recoveryNone')}</p>
          </div>
        )}
        {error && <div className="alert error" role="alert">{error}</div>}
        <div className="toolbar">
          <button type="button" className="btn" onClick={step === 0 ? props.onCancel : () => setStep(step - 1)}>{step === 0 ? t('common.cancel') : t('common.back')}</button>
          <span className="spacer" />
          {step < STEPS.length - 1 ? <button type="submit" className="btn primary" disabled={busy}>{t('common.next')}</button> : <button type="submit" className="btn primary" disabled={busy}>{busy ? t('create.creating') : t('create.createVault')}</button>}
        </div>
      </form>
    </section>
  );
}
