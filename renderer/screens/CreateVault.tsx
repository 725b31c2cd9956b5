import { useEffect, useRef, useState } from 'react';
import type { HardwareKey, MemberIdentity, TransitSettings } from '../../preload/contract';
import type { View } from '../App';
import { coffer, errorOf } from '../util';
import { STRONG_ENOUGH, StrengthMeter, strengthOf } from '../strength';

const STEPS = ['Folder and name', 'Key slots', 'Recovery key', 'Create'] as const;

export function CreateVault(props: { onCancel: () => void; onCreated: (vaultId: string) => Promise<void>; goTo: (v: View) => void }) {
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
      if (!dir.trim()) return 'Choose the folder the vault will live in.';
      if (!name.trim()) return 'Give the vault a name people will recognise.';
      // The folder is checked here, not at the last step.
      const { state } = await coffer().vaults.checkFolder({ dir: dir.trim() });
      if (state === 'not-empty') return 'That folder already has files in it. Choose an empty folder, or add a new folder name at the end of the path.';
      if (state === 'vault') return 'That folder is already a vault. Use Open on the Vaults screen to add it, or choose another folder.';
      if (state === 'not-a-folder') return 'That path is a file, not a folder. Choose a folder.';
    }
    if (step === 1) {
      if (usePass && pass.length < 8) return 'Use a passphrase of at least 8 characters (several words are best).';
      if (usePass && pass !== pass2) return 'The two passphrases do not match.';
      if (weak && !insist) return 'This passphrase is easy to guess. Choose a stronger one (four or more random words), or tick “Use it anyway”.';
      if (slotCount === 0) return 'Choose at least one way to unlock the vault.';
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
      setError(errorOf(e).message);
    } finally {
      setBusy(false);
    }
  };

  const pickDir = async () => {
    const r = await coffer().dialog.pickFolder({ title: 'Folder for the new vault' });
    if (r.path) setDir(r.path);
  };
  const pickRecovery = async () => {
    const r = await coffer().dialog.saveFile({ title: 'Save the recovery key', defaultName: `${name || 'vault'} recovery key.txt` });
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
      setError(errorOf(e).message);
    } finally {
      setBusy(false);
    }
  };

  const toggle = (list: string[], set: (l: string[]) => void, id: string) => set(list.includes(id) ? list.filter((x) => x !== id) : [...list, id]);

  return (
    <section aria-labelledby="create-title">
      <h1 id="create-title">New vault</h1>
      <ol className="wizard-steps" aria-label="Steps">
        {STEPS.map((s, i) => <li key={s} aria-current={i === step ? 'step' : undefined}>{i + 1}. {s}</li>)}
      </ol>
      <form ref={formRef} onSubmit={(e) => { e.preventDefault(); if (step < STEPS.length - 1) void next(); else void create(); }}>
        {step === 0 && (
          <>
            <label className="field">
              <span>Folder</span>
              <span className="row">
                <input aria-label="Folder" value={dir} onChange={(e) => setDir(e.target.value)} placeholder="/home/me/Dropbox/Team vault" aria-describedby="dir-hint" />
                <button type="button" className="btn" onClick={() => void pickDir()}>Choose…</button>
              </span>
              <span className="hint" id="dir-hint">An empty folder, or one that does not exist yet. A Dropbox, OneDrive, Syncthing or Nextcloud folder lets your team share it.</span>
            </label>
            <label className="field">
              <span>Vault name</span>
              <input value={name} onChange={(e) => setName(e.target.value)} placeholder="Team documents" />
            </label>
          </>
        )}
        {step === 1 && (
          <>
            <p className="muted">Each key slot is one way to unlock the vault. Add more than one so losing a single key never locks you out.</p>
            <fieldset>
              <legend>Passphrase</legend>
              <label className="check"><input type="checkbox" checked={usePass} onChange={(e) => setUsePass(e.target.checked)} /><span>Unlock with a passphrase</span></label>
              {usePass && (
                <>
                  <label className="field"><span>Passphrase</span><input type="password" value={pass} onChange={(e) => { setPass(e.target.value); setInsist(false); }} autoComplete="new-password" /></label>
                  <StrengthMeter passphrase={pass} userInputs={[name]} />
                  <label className="field"><span>Passphrase again</span><input type="password" value={pass2} onChange={(e) => setPass2(e.target.value)} autoComplete="new-password" /></label>
                  {weak && (
                    <label className="check"><input type="checkbox" checked={insist} onChange={(e) => setInsist(e.target.checked)} /><span>Use it anyway: I understand someone who gets the vault folder could guess it</span></label>
                  )}
                  <span className="hint">It is stretched with Argon2id. Four or more random words are strong and easy to type.</span>
                </>
              )}
            </fieldset>
            <fieldset>
              <legend>Member keys</legend>
              {identities.length === 0 && <p className="hint">You have no member key on this computer. <button type="button" className="btn link" onClick={() => props.goTo({ name: 'identities' })}>Create one</button> to unlock without typing a passphrase.</p>}
              {identities.map((i) => (
                <label key={i.id} className="check">
                  <input type="checkbox" checked={idSel.includes(i.id)} onChange={() => toggle(idSel, setIdSel, i.id)} />
                  <span>My key “{i.label}” <span className="mono muted">{i.fingerprint}</span></span>
                </label>
              ))}
              {others.map((o, n) => (
                <div key={o.recipient} className="row"><span className="mono">{o.label || 'member'}: {o.recipient.slice(0, 24)}…</span><button type="button" className="btn small" onClick={() => setOthers(others.filter((_, k) => k !== n))}>Remove</button></div>
              ))}
              <div className="row" style={{ marginTop: 6 }}>
                <input aria-label="Another member's recipient" placeholder="coffer1… (someone else's member key)" value={otherRecipient} onChange={(e) => setOtherRecipient(e.target.value)} />
                <input aria-label="Their name" placeholder="Name" value={otherLabel} onChange={(e) => setOtherLabel(e.target.value)} style={{ maxWidth: 140 }} />
                <button type="button" className="btn" disabled={!otherRecipient.trim()} onClick={() => { setOthers([...others, { recipient: otherRecipient.trim(), label: otherLabel.trim() }]); setOtherRecipient(''); setOtherLabel(''); }}>Add</button>
              </div>
            </fieldset>
            <fieldset>
              <legend>Hardware keys</legend>
              {hwkeys.length === 0 && <p className="hint">No hardware key enrolled. <button type="button" className="btn link" onClick={() => props.goTo({ name: 'hwkeys' })}>Enroll a YubiKey</button> to require it (and its PIN) for unlocking.</p>}
              {hwkeys.map((h) => (
                <label key={h.id} className="check">
                  <input type="checkbox" checked={hwSel.includes(h.id)} onChange={() => toggle(hwSel, setHwSel, h.id)} />
                  <span>{h.label} <span className="muted">({h.tokenLabel}, serial {h.serial})</span> <span className="mono muted">{h.fingerprint}</span></span>
                </label>
              ))}
            </fieldset>
            <fieldset>
              <legend>HashiCorp Vault Transit</legend>
              {transitReady ? (
                <label className="check">
                  <input type="checkbox" checked={useTransit} onChange={(e) => setUseTransit(e.target.checked)} />
                  <span>Wrap the vault key with Transit key <code>{transit?.keyName}</code> at <code>{transit?.address}</code>; unlocking asks Vault.</span>
                </label>
              ) : (
                <p className="hint">Not configured. <button type="button" className="btn link" onClick={() => props.goTo({ name: 'transit' })}>Set up the Vault connection</button> to let your organisation's Vault control access.</p>
              )}
            </fieldset>
          </>
        )}
        {step === 2 && (
          <>
            <p>Coffer also makes a <strong>recovery key</strong>: it unlocks the vault if every other key is lost. It is saved to a file you choose and never shown in this window. Print it or store it offline, then delete the file.</p>
            <label className="field">
              <span>Save the recovery key to</span>
              <span className="row">
                <input aria-label="Save the recovery key to" value={recoveryPath} readOnly placeholder="not chosen yet" />
                <button type="button" className="btn" onClick={() => void pickRecovery()}>Choose…</button>
              </span>
              <span className="hint">Choose a file with the Save dialog (a USB stick is a good place). Leave it unchosen to skip: then only the key slots above can unlock the vault.</span>
            </label>
          </>
        )}
        {step === 3 && (
          <div className="card">
            <h2 style={{ marginTop: 0 }}>Ready to create “{name}”</h2>
            <p>Folder: <code>{dir}</code></p>
            <p>{slotCount} key slot{slotCount === 1 ? '' : 's'}: {[usePass && 'passphrase', idSel.length > 0 && `${idSel.length} of your member keys`, others.length > 0 && `${others.length} other members`, hwSel.length > 0 && `${hwSel.length} hardware keys`, useTransit && 'Vault Transit'].filter(Boolean).join(', ')}.</p>
            <p>Recovery key: {recoveryPath ? <code>{recoveryPath}</code> : 'not saved'}</p>
          </div>
        )}
        {error && <div className="alert error" role="alert">{error}</div>}
        <div className="toolbar">
          <button type="button" className="btn" onClick={step === 0 ? props.onCancel : () => setStep(step - 1)}>{step === 0 ? 'Cancel' : 'Back'}</button>
          <span className="spacer" />
          {step < STEPS.length - 1 ? <button type="submit" className="btn primary" disabled={busy}>Next</button> : <button type="submit" className="btn primary" disabled={busy}>{busy ? 'Creating…' : 'Create vault'}</button>}
        </div>
      </form>
    </section>
  );
}
