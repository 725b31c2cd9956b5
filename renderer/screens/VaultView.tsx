import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { DriveOpenFile, HardwareKey, JobInfo, MemberIdentity, UnlockMethod, VaultSummary } from '../../preload/contract';
import type { View } from '../App';
import { coffer, errorOf } from '../util';
import { DrivePanel, OpenThroughDrive } from './DrivePanel';
import { FileBrowser } from './FileBrowser';
import { TrashView } from './Versions';
import { Members } from './Members';
import { VaultAdmin } from './VaultAdmin';

type Choice = 'passphrase' | 'recovery' | 'transit' | `identity:${string}` | `hwkey:${string}`;

const unlockHelp: Record<string, string> = {
  WRONG_PASSPHRASE: 'Check the passphrase (and Caps Lock) and try again.',
  NO_IDENTITY: 'None of the keys you tried opens this vault. Pick another slot, or ask a member to grant you access.',
  PIN_INCORRECT: 'The PIN was wrong. After too many wrong tries the key locks and needs its PUK.',
  PIN_LOCKED: 'This key’s PIN is blocked. Reset it with the PUK (ykman piv access unblock-pin) and try again.',
  TRANSIT_DENIED: 'Vault refused: your token’s policy does not allow decrypting with this key. Ask your Vault admin.',
  TRANSIT_SEALED: 'Vault is sealed. Ask your Vault admin to unseal it, then try again.',
  TRANSIT_UNREACHABLE: 'Vault could not be reached. Check the address and your network in Vault connection.',
  TOKEN_NOT_FOUND: 'The hardware key is not plugged in (or its module cannot see it).',
};

function Unlock({ vault, onUnlocked }: { vault: VaultSummary; onUnlocked: () => Promise<void> }) {
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
  if (types.has('passphrase')) options.push({ value: 'passphrase', label: 'Passphrase', hint: vault.slots.filter((s) => s.type === 'passphrase').map((s) => s.label).join(', ') });
  // Keys that match a slot come first; the others are offered too (a slot may have been added
  // since the list was read), marked so people know what to expect.
  const member = (fp: string) => fps.has(fp);
  for (const i of [...identities].sort((a, b) => Number(member(b.fingerprint)) - Number(member(a.fingerprint)))) {
    options.push({ value: `identity:${i.id}`, label: `My member key “${i.label}”`, hint: member(i.fingerprint) ? i.fingerprint : `${i.fingerprint} (not among this vault’s slots)` });
  }
  for (const h of hwkeys) options.push({ value: `hwkey:${h.id}`, label: `Hardware key “${h.label}”`, hint: `${h.tokenLabel}, serial ${h.serial}${member(h.fingerprint) ? '' : ' (not among this vault’s slots)'}` });
  if (types.has('vault-transit')) options.push({ value: 'transit', label: 'HashiCorp Vault Transit', hint: 'asks your Vault server' });
  if (types.has('recovery')) options.push({ value: 'recovery', label: 'Recovery key', hint: 'the key saved when the vault was created' });

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
  const secretLabel = current === 'recovery' ? 'Recovery key' : current?.startsWith('hwkey:') ? 'PIN' : 'Passphrase';

  return (
    <div className="card" style={{ maxWidth: 640 }}>
      <h2 style={{ marginTop: 0 }}>Unlock “{vault.name}”</h2>
      {options.length === 0 ? (
        <p>None of this vault’s key slots can be used from this computer yet. Ask a member for access below.</p>
      ) : (
        <form onSubmit={(e) => { e.preventDefault(); void unlock(); }}>
          <fieldset>
            <legend>Unlock with</legend>
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
              <strong>{error.message}</strong>
              {unlockHelp[error.code] && <div>{unlockHelp[error.code]}</div>}
            </div>
          )}
          <button type="submit" className="btn primary" disabled={busy || (needsSecret && !secret)}>{busy ? 'Unlocking…' : 'Unlock'}</button>
        </form>
      )}
      <RequestAccess vault={vault} identities={identities} />
    </div>
  );
}

/** "Request access" on the unlock screen: leaves a request in the vault folder for a member to approve. */
function RequestAccess({ vault, identities }: { vault: VaultSummary; identities: MemberIdentity[] }) {
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
        Not a member of this vault? <button type="button" className="btn link" onClick={() => setOpen(true)}>Request access</button>
      </p>
    );
  }
  const chosen = idSel || mine[0]?.id || '';
  return (
    <form className="card" style={{ marginTop: 12 }} aria-label="Request access" onSubmit={(e) => {
      e.preventDefault();
      setBusy(true);
      setError(null);
      setStatus(null);
      coffer().members.requestAccess({ dir: vault.path, identityId: chosen, name: name.trim() }).then(
        () => setStatus('Request left in the vault folder. A member sees it under Members & sharing and can grant it; then unlock with your member key.'),
        (err: unknown) => setError(errorOf(err).message),
      ).finally(() => setBusy(false));
    }}>
      <h3 style={{ marginTop: 0 }}>Request access</h3>
      {mine.length === 0 ? (
        <p className="hint">You need a member key first: create one under Member keys, then come back here.</p>
      ) : (
        <>
          <label className="field"><span>With my member key</span>
            <select value={chosen} onChange={(e) => setIdSel(e.target.value)}>{mine.map((i) => <option key={i.id} value={i.id}>{i.label} ({i.fingerprint})</option>)}</select>
          </label>
          <label className="field"><span>Your name, as members will see it</span><input value={name} onChange={(e) => setName(e.target.value)} /></label>
        </>
      )}
      {error && <div className="alert error" role="alert">{error}</div>}
      {status && <div className="alert ok" role="status">{status}</div>}
      <div className="toolbar">
        <button type="submit" className="btn primary" disabled={busy || mine.length === 0 || !name.trim() || !chosen}>Send request</button>
        <button type="button" className="btn" onClick={() => setOpen(false)}>Close</button>
      </div>
    </form>
  );
}

export function VaultView(props: { vault: VaultSummary; jobs: JobInfo[]; onChanged: () => Promise<void>; goTo: (v: View) => void }) {
  const { vault } = props;
  const { t } = useTranslation();
  const [tab, setTab] = useState<'files' | 'members' | 'admin' | 'drive' | 'trash'>('files');
  const [error, setError] = useState<string | null>(null);
  /** Files open through the drive when Lock was pressed: shown for a confirmation first. */
  const [openOnLock, setOpenOnLock] = useState<DriveOpenFile[] | null>(null);

  // Unlocking again starts on the files.
  useEffect(() => {
    if (vault.state !== 'unlocked') setTab('files');
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
      await props.onChanged();
    } catch (e) {
      setError(errorOf(e).message);
    }
  };
  const forget = async () => {
    try {
      await coffer().vaults.forget({ vaultId: vault.id });
      await props.onChanged();
      props.goTo({ name: 'vaults' });
    } catch (e) {
      setError(errorOf(e).message);
    }
  };

  return (
    <section aria-labelledby="vault-title">
      <div className="row">
        <h1 id="vault-title">{vault.name}</h1>
        <span className={`state ${vault.state}`}>{vault.state === 'missing' ? 'unavailable' : vault.state}</span>
        <span className="spacer" />
        {vault.state !== 'locked' && <button type="button" className="btn" onClick={() => void lock()}>Lock</button>}
        {vault.state !== 'unlocked' && <button type="button" className="btn small" onClick={() => void forget()}>Remove from list</button>}
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
          <strong>This vault is unavailable:</strong> its folder is not there any more. Was it moved or deleted, or is its drive disconnected?
          {' '}Nothing can be read or written until it is back; Coffer notices by itself when it returns.
        </div>
      )}
      {vault.state === 'locked' && <Unlock vault={vault} onUnlocked={props.onChanged} />}
      {vault.state === 'unlocked' && (
        <>
          <div className="tabs" role="tablist">
            <button type="button" role="tab" className="tab" aria-selected={tab === 'files'} onClick={() => setTab('files')}>Files</button>
            <button type="button" role="tab" className="tab" aria-selected={tab === 'members'} onClick={() => setTab('members')}>
              Members & sharing{vault.pendingRequests > 0 ? ` (${vault.pendingRequests})` : ''}
            </button>
            <button type="button" role="tab" className="tab" aria-selected={tab === 'admin'} onClick={() => setTab('admin')}>Keys & health</button>
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
