import { useEffect, useState } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import type { DriveOpenFile, HardwareKey, JobInfo, MemberIdentity, UnlockMethod, VaultSummary } from '../../preload/contract';
import type { View } from '../App';
import { coffer, errorHelp, errorOf, errorText, slotLabel } from '../util';
import { DrivePanel, OpenThroughDrive } from './DrivePanel';
import { FileBrowser } from './FileBrowser';
import { TrashView } from './Versions';
import { Members } from './Members';
import { VaultAdmin } from './VaultAdmin';

type Choice = 'passphrase' | 'recovery' | 'transit' | `identity:${string}` | `hwkey:${string}`;

function Unlock({ vault, onUnlocked }: { vault: VaultSummary; onUnlocked: () => Promise<void> }) {
  const { t } = useTranslation();
  const [identities, setIdentities] = useState<MemberIdentity[]>([]);
  const [hwkeys, setHwkeys] = useState<HardwareKey[]>([]);
  const [choice, setChoice] = useState<Choice | null>(null);
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<{ code: string; message: string } | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    coffer().identities.list().then(setIdentities, () => undefined);
    coffer().hwkeys.list().then(setHwkeys, () => undefined);
  }, []);

  const types = new Set(vault.slots.map((s) => s.type));
  const fps = new Set(vault.slots.map((s) => s.fingerprint).filter((f): f is string => !!f));
  const options: { value: Choice; label: string; hint: string }[] = [];
  if (types.has('passphrase')) options.push({ value: 'passphrase', label: t('unlock.passphrase'), hint: vault.slots.filter((s) => s.type === 'passphrase').map((s) => slotLabel(s)).join(', ') });
  // Keys that match a slot come first; the others are offered too (a slot may have been added
  // since the list was read), marked so people know what to expect.
  const member = (fp: string) => fps.has(fp);
  for (const i of [...identities].sort((a, b) => Number(member(b.fingerprint)) - Number(member(a.fingerprint)))) {
    options.push({ value: `identity:${i.id}`, label: t('unlock.myKey', { label: i.label }), hint: member(i.fingerprint) ? i.fingerprint : t('unlock.notAmong', { fp: i.fingerprint }) });
  }
  for (const h of hwkeys) options.push({ value: `hwkey:${h.id}`, label: t('unlock.hwKey', { label: h.label }), hint: t(member(h.fingerprint) ? 'unlock.hwHint' : 'unlock.hwNotAmong', { token: h.tokenLabel, serial: h.serial }) });
  if (types.has('vault-transit')) options.push({ value: 'transit', label: t('unlock.transit'), hint: t('unlock.transitHint') });
  if (types.has('recovery')) options.push({ value: 'recovery', label: t('unlock.recovery'), hint: t('unlock.recoveryHint') });

  const current = choice ?? options[0]?.value ?? null;

  const unlock = async () => {
    if (!current) return;
    let method: UnlockMethod;
    if (current === 'passphrase') method = { kind: 'passphrase', passphrase: secret };
    else if (current === 'recovery') method = { kind: 'recovery', recoveryKey: secret };
    else if (current === 'transit') method = { kind: 'transit' };
    else if (current.startsWith('identity:')) method = { kind: 'identity', identityId: current.slice(9) };
    else method = { kind: 'hwkey', hwkeyId: current.slice(6), pin: secret };
    setBusy(true);
    setError(null);
    try {
      await coffer().vaults.unlock({ vaultId: vault.id, method });
      setSecret('');
      await onUnlocked();
    } catch (e) {
      setError(errorOf(e));
    } finally {
      setBusy(false);
    }
  };

  const needsSecret = current === 'passphrase' || current === 'recovery' || (current?.startsWith('hwkey:') ?? false);
  const secretLabel = current === 'recovery' ? t('unlock.recovery') : current?.startsWith('hwkey:') ? t('unlock.pin') : t('unlock.passphrase');

  return (
    <div className="card" style={{ maxWidth: 640 }}>
      <h2 style={{ marginTop: 0 }}>{t('unlock.title', { name: vault.name })}</h2>
      {options.length === 0 ? (
        <p>{t('unlock.noOption')}</p>
      ) : (
        <form onSubmit={(e) => { e.preventDefault(); void unlock(); }}>
          <fieldset>
            <legend>{t('unlock.with')}</legend>
            {options.map((o) => (
              <label key={o.value} className="check">
                <input type="radio" name="slot" value={o.value} checked={current === o.value} onChange={() => { setChoice(o.value); setSecret(''); setError(null); }} />
                <span>{o.label} <span className="muted">{o.hint}</span></span>
              </label>
            ))}
          </fieldset>
          {needsSecret && (
            <label className="field">
              <span>{secretLabel}</span>
              <input type="password" value={secret} onChange={(e) => setSecret(e.target.value)} autoFocus autoComplete="off" />
            </label>
          )}
          {error && (
            <div className="alert error" role="alert">
              <strong>{errorText(error)}</strong>
              {errorHelp(error.code) && <div>{errorHelp(error.code)}</div>}
            </div>
          )}
          <button type="submit" className="btn primary" disabled={busy || (needsSecret && !secret)}>{busy ? t('unlock.unlocking') : t('unlock.unlock')}</button>
        </form>
      )}
      <RequestAccess vault={vault} identities={identities} />
    </div>
  );
}

/** "Request access" on the unlock screen: leaves a request in the vault folder for a member to approve. */
function RequestAccess({ vault, identities }: { vault: VaultSummary; identities: MemberIdentity[] }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const [idSel, setIdSel] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const fps = new Set(vault.slots.map((s) => s.fingerprint));
  const mine = identities.filter((i) => !fps.has(i.fingerprint));
  if (!open) {
    return (
      <p className="hint" style={{ marginTop: 12 }}>
        <Trans i18nKey="request.notMember" components={{ cta: <button type="button" className="btn link" onClick={() => setOpen(true)} /> }} />
      </p>
    );
  }
  const chosen = idSel || mine[0]?.id || '';
  return (
    <form className="card" style={{ marginTop: 12 }} aria-label={t('request.title')} onSubmit={(e) => {
      e.preventDefault();
      setBusy(true);
      setError(null);
      setStatus(null);
      coffer().members.requestAccess({ dir: vault.path, identityId: chosen, name: name.trim() }).then(
        () => setStatus(t('request.sent')),
        (err: unknown) => setError(errorText(err)),
      ).finally(() => setBusy(false));
    }}>
      <h3 style={{ marginTop: 0 }}>{t('request.title')}</h3>
      {mine.length === 0 ? (
        <p className="hint">{t('request.needKey')}</p>
      ) : (
        <>
          <label className="field"><span>{t('request.withKey')}</span>
            <select value={chosen} onChange={(e) => setIdSel(e.target.value)}>{mine.map((i) => <option key={i.id} value={i.id}>{t('request.keyOption', { label: i.label, fp: i.fingerprint })}</option>)}</select>
          </label>
          <label className="field"><span>{t('request.yourName')}</span><input value={name} onChange={(e) => setName(e.target.value)} /></label>
        </>
      )}
      {error && <div className="alert error" role="alert">{error}</div>}
      {status && <div className="alert ok" role="status">{status}</div>}
      <div className="toolbar">
        <button type="submit" className="btn primary" disabled={busy || mine.length === 0 || !name.trim() || !chosen}>{t('request.send')}</button>
        <button type="button" className="btn" onClick={() => setOpen(false)}>{t('common.close')}</button>
      </div>
    </form>
  );
}

export function VaultView(props: { vault: VaultSummary; jobs: JobInfo[]; onChanged: () => Promise<void>; goTo: (v: View) => void }) {
  const { t } = useTranslation();
  const { vault } = props;
  const [tab, setTab] = useState<'files' | 'members' | 'admin' | 'drive' | 'trash'>('files');
  const [error, setError] = useState<string | null>(null);
  /** Files open through the drive when Lock was pressed: shown for a confirmation first. */
  const [openOnLock, setOpenOnLock] = useState<DriveOpenFile[] | null>(null);

  // Unlocking again starts on the files; an error from before the vault was locked or unlocked is out of date.
  useEffect(() => {
    if (vault.state !== 'unlocked') setTab('files');
    setError(null);
  }, [vault.state]);

  // Activity in the window keeps the vault unlocked.
  useEffect(() => {
    if (vault.state !== 'unlocked') return;
    let last = 0;
    const touch = () => {
      const now = Date.now();
      if (now - last < 30_000) return;
      last = now;
      void coffer().vaults.touch({ vaultId: vault.id }).catch(() => undefined);
    };
    window.addEventListener('pointerdown', touch);
    window.addEventListener('keydown', touch);
    return () => {
      window.removeEventListener('pointerdown', touch);
      window.removeEventListener('keydown', touch);
    };
  }, [vault.id, vault.state]);

  const lock = async (confirmed = false) => {
    try {
      if (!confirmed) {
        const drive = await coffer().drive.status({ vaultId: vault.id }).catch(() => null);
        if (drive?.running && drive.openFiles.length > 0) {
          setOpenOnLock(drive.openFiles);
          return;
        }
      }
      setOpenOnLock(null);
      await coffer().vaults.lock({ vaultId: vault.id });
      setError(null);
      await props.onChanged();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const forget = async () => {
    try {
      await coffer().vaults.forget({ vaultId: vault.id });
      setError(null);
      await props.onChanged();
      props.goTo({ name: 'vaults' });
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <section aria-labelledby="vault-title">
      <div className="row">
        <h1 id="vault-title">{vault.name}</h1>
        <span className={`state ${vault.state}`}>{t(`state.${vault.state}`)}</span>
        <span className="spacer" />
        {vault.state !== 'locked' && <button type="button" className="btn" onClick={() => void lock()}>{t('vault.lock')}</button>}
        {vault.state !== 'unlocked' && <button type="button" className="btn small" onClick={() => void forget()}>{t('vault.forget')}</button>}
      </div>
      <p className="mono muted truncate" title={vault.path} style={{ display: 'block' }}>{vault.path}</p>
      {error && <div className="alert error" role="alert">{error}</div>}
      {openOnLock && (
        <div className="alert warn" role="alertdialog" aria-label={t('drive.openFiles')}>
          <strong>{t('drive.lockConfirm')}</strong>
          <OpenThroughDrive files={openOnLock} />
          <div className="toolbar">
            <button type="button" className="btn danger" onClick={() => void lock(true)}>{t('drive.lockAnyway')}</button>
            <button type="button" className="btn" onClick={() => setOpenOnLock(null)}>{t('drive.cancel')}</button>
          </div>
        </div>
      )}
      {vault.state === 'missing' && (
        <div className="alert error" role="alert">
          <Trans i18nKey="vault.missing" components={{ b: <strong /> }} />
        </div>
      )}
      {vault.state === 'locked' && <Unlock vault={vault} onUnlocked={props.onChanged} />}
      {vault.state === 'unlocked' && (
        <>
          <div className="tabs" role="tablist">
            <button type="button" role="tab" className="tab" aria-selected={tab === 'files'} onClick={() => setTab('files')}>{t('vault.tabFiles')}</button>
            <button type="button" role="tab" className="tab" aria-selected={tab === 'members'} onClick={() => setTab('members')}>
              {vault.pendingRequests > 0 ? t('vault.tabMembersN', { count: vault.pendingRequests }) : t('vault.tabMembers')}
            </button>
            <button type="button" role="tab" className="tab" aria-selected={tab === 'admin'} onClick={() => setTab('admin')}>{t('vault.tabAdmin')}</button>
            <button type="button" role="tab" className="tab" aria-selected={tab === 'drive'} onClick={() => setTab('drive')}>{t('drive.tab')}</button>
            <button type="button" role="tab" className="tab" aria-selected={tab === 'trash'} onClick={() => setTab('trash')}>{t('trash.tab')}</button>
          </div>
          <div role="tabpanel">
            {tab === 'files' ? <FileBrowser vault={vault} jobs={props.jobs} /> : tab === 'trash' ? <TrashView vault={vault} /> : tab === 'members' ? <Members vault={vault} onChanged={props.onChanged} /> : tab === 'drive' ? <DrivePanel vault={vault} /> : <VaultAdmin vault={vault} onChanged={props.onChanged} />}
          </div>
        </>
      )}
    </section>
  );
}
