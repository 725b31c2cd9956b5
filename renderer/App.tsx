import { Picker } from './Picker';
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import type { AppInfo, JobInfo, Settings, VaultSummary } from '../preload/contract';
import { coffer, errorOf, errorText, noticeText, storageWarning } from './util';
import { VaultList } from './screens/VaultList';
import { CreateVault } from './screens/CreateVault';
import { VaultView } from './screens/VaultView';
import { JobsPanel } from './screens/Jobs';
import { MemberKeys } from './screens/MemberKeys';
import { HardwareKeys } from './screens/HardwareKeys';
import { TransitSettingsScreen } from './screens/Transit';
import { ActivityScreen } from './screens/Activity';
import { UnsavedEdits } from './screens/UnsavedEdits';
import { SettingsScreen } from './screens/Settings';
import { LockIcon } from './icons';
import { useTranslation } from 'react-i18next';
import { setLanguage } from './i18n';

export type View =
  | { name: 'vaults' }
  | { name: 'create' }
  | { name: 'vault'; vaultId: string }
  | { name: 'identities' }
  | { name: 'hwkeys' }
  | { name: 'transit' }
  | { name: 'activity' }
  | { name: 'settings' };

function Logo() {
  return (
    <svg viewBox="0 0 24 24" aria-hidden="true">
      <rect x="3" y="9" width="18" height="12" rx="2.5" fill="currentColor" opacity=".2" />
      <rect x="3" y="9" width="18" height="12" rx="2.5" fill="none" stroke="currentColor" strokeWidth="1.8" />
      <path d="M7.5 9V7a4.5 4.5 0 0 1 9 0v2" fill="none" stroke="currentColor" strokeWidth="1.8" />
      <circle cx="12" cy="15" r="1.8" fill="currentColor" />
    </svg>
  );
}

function useTheme(theme: Settings['theme'] | undefined) {
  useEffect(() => {
    const media = window.matchMedia('(prefers-color-scheme: dark)');
    const apply = () => {
      const dark = theme === 'dark' || (theme !== 'light' && media.matches);
      document.documentElement.dataset.theme = dark ? 'dark' : 'light';
    };
    apply();
    media.addEventListener('change', apply);
    return () => media.removeEventListener('change', apply);
  }, [theme]);
}

export function App() {
  const { t } = useTranslation();
  const [view, setView] = useState<View>({ name: 'vaults' });
  const [vaults, setVaults] = useState<VaultSummary[]>([]);
  const [jobs, setJobs] = useState<JobInfo[]>([]);
  const [settings, setSettings] = useState<Settings | null>(null);
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [lockedMessage, setLockedMessage] = useState<'app.lockedIdle' | 'app.lockedRevoked' | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const mainRef = useRef<HTMLElement>(null);

  useTheme(settings?.theme);
  useEffect(() => void setLanguage(settings?.language), [settings?.language]);

  // Reads of the vault list can overlap (the 3 s watch, lock, unlock, job and conflict events) and
  // their replies can come back out of order. Each read has a number: an older read's reply never
  // replaces a newer one's list, and an error is shown only if no read was started after it (that
  // read speaks for the present). A read that raced a lock (VAULT_LOCKED: a vault was locked while
  // the list was being read) is read again, not shown: the vault is simply locked now.
  const listStarted = useRef(0);
  const listApplied = useRef(0);
  const refreshVaults = useCallback(async () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const n = ++listStarted.current;
      try {
        const list = await coffer().vaults.list();
        if (n > listApplied.current) {
          listApplied.current = n;
          setVaults(list);
          setLoadError(null); // the list reads again: the old error is out of date
        }
        return;
      } catch (e) {
        if (n !== listStarted.current) return; // a newer read is under way and will report
        const err = errorOf(e);
        if (err.code === 'VAULT_LOCKED' && attempt === 0) continue;
        setLoadError(errorText(err));
        return;
      }
    }
  }, []);

  useEffect(() => {
    void refreshVaults();
    coffer().settings.get().then(setSettings, (e: unknown) => setLoadError(errorText(e)));
    coffer().app.info().then(setInfo, () => undefined);
    coffer().jobs.list().then(setJobs, () => undefined);
    const offs = [
      coffer().on.job((job) =>
        setJobs((prev) => {
          const i = prev.findIndex((j) => j.id === job.id);
          if (i < 0) return [...prev, job];
          const next = prev.slice();
          next[i] = job;
          return next;
        }),
      ),
      coffer().on.vaultLocked(({ vaultId, reason }) => {
        void refreshVaults();
        if (reason === 'idle') setLockedMessage('app.lockedIdle');
        if (reason === 'revoked') setLockedMessage('app.lockedRevoked');
        void vaultId;
      }),
      coffer().on.accessRequests(() => void refreshVaults()),
      coffer().on.conflicts(() => void refreshVaults()),
      coffer().on.notice((n) => {
        setNotice(noticeText(n));
        window.setTimeout(() => setNotice(null), 6000);
      }),
    ];
    return () => offs.forEach((off) => off());
  }, [refreshVaults]);

  // A vault folder can disappear (deleted, moved, drive unplugged) and come back while the app runs:
  // re-read the list every few seconds while any vault is unlocked or unavailable.
  const watch = vaults.some((v) => v.state !== 'locked');
  useEffect(() => {
    if (!watch) return;
    const t = window.setInterval(() => void refreshVaults(), 3000);
    return () => window.clearInterval(t);
  }, [watch, refreshVaults]);

  // A finished "add" job changes listings; refresh the vault list (counts, conflicts).
  const finishedAdds = jobs.filter((j) => j.state === 'done').length;
  useEffect(() => {
    if (finishedAdds > 0) void refreshVaults();
  }, [finishedAdds, refreshVaults]);

  const go = (v: View) => {
    setView(v);
    setLockedMessage(null);
    // Move focus into the new screen (for keyboard and screen-reader users), unless the screen
    // already focused a field itself.
    window.setTimeout(() => {
      if (!mainRef.current?.contains(document.activeElement)) mainRef.current?.focus();
    }, 0);
  };

  const navItem = (label: ReactNode, target: View, badge?: number) => (
    <button
      type="button"
      className="nav-button"
      aria-current={view.name === target.name && (target.name !== 'vault' || (view.name === 'vault' && view.vaultId === target.vaultId)) ? 'page' : undefined}
      onClick={() => go(target)}
    >
      <span>{label}</span>
      {badge ? <span className="badge" aria-label={t('nav.attention', { count: badge })}>{badge}</span> : null}
    </button>
  );

  let screen;
  switch (view.name) {
    case 'vaults':
      screen = <VaultList vaults={vaults} onOpen={(id) => go({ name: 'vault', vaultId: id })} onCreate={() => go({ name: 'create' })} onChanged={refreshVaults} />;
      break;
    case 'create':
      screen = (
        <CreateVault
          onCancel={() => go({ name: 'vaults' })}
          onCreated={async (id) => {
            await refreshVaults();
            go({ name: 'vault', vaultId: id });
          }}
          goTo={go}
        />
      );
      break;
    case 'vault': {
      const vault = vaults.find((v) => v.id === view.vaultId);
      screen = vault ? <VaultView key={vault.id} vault={vault} jobs={jobs} onChanged={refreshVaults} goTo={go} /> : <p>{t('app.vaultGone')}</p>;
      break;
    }
    case 'identities':
      screen = <MemberKeys />;
      break;
    case 'hwkeys':
      screen = <HardwareKeys settings={settings} />;
      break;
    case 'transit':
      screen = <TransitSettingsScreen />;
      break;
    case 'activity':
      screen = <ActivityScreen />;
      break;
    case 'settings':
      screen = <SettingsScreen settings={settings} info={info} onSaved={setSettings} />;
      break;
  }

  return (
    <div className="app">
      <nav className="sidebar" aria-label={t('nav.main')}>
        <div className="brand">
          <Logo />
          Coffer
        </div>
        {navItem(t('nav.vaults'), { name: 'vaults' })}
        {vaults.length > 0 && <div className="nav-section">{t('nav.yourVaults')}</div>}
        {vaults.map((v) => (
          <div key={v.id}>{navItem(<span className="row" style={{ gap: 6 }}><LockIcon open={v.state === 'unlocked'} />{v.name}</span>, { name: 'vault', vaultId: v.id }, v.conflicts + v.pendingRequests)}</div>
        ))}
        <div className="nav-section">{t('nav.keys')}</div>
        {navItem(t('nav.memberKeys'), { name: 'identities' })}
        {navItem(t('nav.hardwareKeys'), { name: 'hwkeys' })}
        {navItem(t('nav.transit'), { name: 'transit' })}
        <div className="nav-section">{t('nav.app')}</div>
        {navItem(t('nav.activity'), { name: 'activity' })}
        {navItem(t('nav.settings'), { name: 'settings' })}
      </nav>
      <main className="main" ref={mainRef} tabIndex={-1}>
        {loadError && <div className="alert error" role="alert">{loadError}</div>}
        {lockedMessage && <div className="alert info" role="status">{t(lockedMessage)}</div>}
        <UnsavedEdits vaults={vaults} onOpenVault={(id) => void refreshVaults().then(() => go({ name: 'vault', vaultId: id }))} />
        {info?.storageWarning && view.name === 'identities' && <div className="alert warn" role="note">{storageWarning(info)}</div>}
        {screen}
      </main>
      <JobsPanel jobs={jobs} vaultId={view.name === 'vault' ? view.vaultId : null} onClear={async () => {
        await coffer().jobs.clearFinished();
        setJobs((prev) => prev.filter((j) => j.finishedAt === null));
      }} />
      {notice && <div className="notice" role="status" aria-live="polite">{notice}</div>}
      <Picker />
    </div>
  );
}
