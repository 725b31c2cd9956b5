import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { JobInfo } from '../../preload/contract';
import { coffer, errorText, formatBytes, formatEta, formatRate, jobTitle } from '../util';

function percent(done: number, total: number): number {
  return total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 0;
}

function JobRow({ job, onDismiss }: { job: JobInfo; onDismiss?: () => void }) {
  const { t } = useTranslation();
  const [error, setError] = useState<string | null>(null);
  const pct = job.state === 'done' ? 100 : percent(job.bytesDone, job.bytesTotal);
  const filePct = percent(job.currentFileBytesDone, job.currentFileBytesTotal);
  const active = job.state === 'running' || job.state === 'queued';
  const title = jobTitle(job);
  return (
    <div className="job" aria-label={title}>
      <div>
        <div className="title">{title}</div>
        <div className="stats" aria-live="off">
          <span>{t(`jobs.state.${job.state}`)}</span>
          <span>{pct}%</span>
          <span>{t('jobs.of', { done: formatBytes(job.bytesDone), total: formatBytes(job.bytesTotal) })}</span>
          <span>{t('jobs.files', { done: job.filesDone, count: job.filesTotal })}</span>
          {job.state === 'running' && <span>{formatRate(job.bytesPerSecond)}</span>}
          {job.state === 'running' && <span>{t('jobs.eta', { eta: formatEta(job.etaSeconds) })}</span>}
        </div>
        {job.error && <div className="alert error" role="alert">{errorText(job.error)}</div>}
        {job.state === 'cancelled' && <div className="muted">{t('jobs.cancelled')}</div>}
        {error && <div className="alert error" role="alert">{error}</div>}
      </div>
      <div>
        {active && (
          <button type="button" className="btn small danger" onClick={() => coffer().jobs.cancel({ jobId: job.id }).catch((e: unknown) => setError(errorText(e)))} aria-label={t('jobs.cancelJob', { title: title })}>
            {t('jobs.cancel')}
          </button>
        )}
        {onDismiss && (
          <button type="button" className="btn small" onClick={onDismiss} aria-label={t('jobs.dismissJob', { title: title })} title={t('jobs.dismiss')}>✕</button>
        )}
      </div>
      <div className="bar" role="progressbar" aria-label={t('jobs.totalBar', { title: title })} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
        <div className={job.state === 'failed' || job.state === 'cancelled' ? 'failed' : job.state === 'done' ? 'done' : ''} style={{ width: `${pct}%` }} />
      </div>
      {job.state === 'running' && job.currentFile && (
        <>
          <div className="stats" style={{ gridColumn: '1 / span 2' }}>
            <span className="mono">{job.currentFile}</span>
            {job.currentFileBytesTotal > 0 ? <span>{t('jobs.filePercent', { pct: filePct, total: formatBytes(job.currentFileBytesTotal) })}</span> : <span>{t('jobs.fileOf', { n: Math.min(job.filesDone + 1, job.filesTotal), total: job.filesTotal })}</span>}
          </div>
          {job.currentFileBytesTotal > 0 && (
            <div className="bar file" role="progressbar" aria-label={t('jobs.fileBar', { title: title })} aria-valuemin={0} aria-valuemax={100} aria-valuenow={filePct}>
              <div style={{ width: `${filePct}%` }} />
            </div>
          )}
        </>
      )}
    </div>
  );
}

/** Finished jobs shown at once; older ones are only counted (Clear finished removes them). */
const RECENT = 3;

/**
 * The jobs that matter now: every running or queued job, and the latest few finished ones of the
 * vault on screen (all vaults when none is). Failures can be dismissed one by one, so they never
 * pile up, and the whole panel folds down to one line.
 */
export function JobsPanel(props: { jobs: JobInfo[]; vaultId: string | null; onClear: () => Promise<void> }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(true);
  const [dismissed, setDismissed] = useState<ReadonlySet<string>>(new Set());
  const active = props.jobs.filter((j) => j.state === 'running' || j.state === 'queued');
  const finished = props.jobs
    .filter((j) => j.finishedAt !== null && !dismissed.has(j.id) && (props.vaultId === null || j.vaultId === props.vaultId))
    .sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0));
  const shown = [...active.slice().reverse(), ...finished.slice(0, RECENT)];
  const older = finished.length - Math.min(finished.length, RECENT);
  if (shown.length === 0) return null;
  const failed = finished.filter((j) => j.state === 'failed').length;
  const summary = [active.length > 0 ? t('jobs.running', { count: active.length }) : t('jobs.allFinished'), failed > 0 ? t('jobs.failed', { count: failed }) : null].filter(Boolean).join(' · ');
  return (
    <section className={`jobs ${open ? '' : 'collapsed'}`} aria-label={t('jobs.title')}>
      <header>
        <button type="button" className="btn link jobs-toggle" aria-expanded={open} aria-controls="jobs-list" onClick={() => setOpen(!open)}>
          <span aria-hidden="true">{open ? '▾' : '▸'}</span> {t('jobs.title')}
        </button>
        <span className="muted">{summary}</span>
        {!open && active[0] && <span className="muted jobs-peek">{jobTitle(active[0])}: {percent(active[0].bytesDone, active[0].bytesTotal)}%</span>}
        <span className="spacer" />
        {older > 0 && <span className="muted">{t('jobs.earlier', { count: older })}</span>}
        {finished.length > 0 && <button type="button" className="btn small" onClick={() => { setDismissed(new Set()); void props.onClear(); }}>{t('jobs.clearFinished')}</button>}
      </header>
      {open && (
        <div id="jobs-list">
          {shown.map((j) => (
            <JobRow key={j.id} job={j} onDismiss={j.finishedAt !== null ? () => setDismissed(new Set([...dismissed, j.id])) : undefined} />
          ))}
        </div>
      )}
    </section>
  );
}
