import { useState } from 'react';
import type { JobInfo } from '../../preload/contract';
import { coffer, errorOf, formatBytes, formatEta, formatRate } from '../util';

function percent(done: number, total: number): number {
  return total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 0;
}

function JobRow({ job }: { job: JobInfo }) {
  const [error, setError] = useState<string | null>(null);
  const pct = job.state === 'done' ? 100 : percent(job.bytesDone, job.bytesTotal);
  const filePct = percent(job.currentFileBytesDone, job.currentFileBytesTotal);
  const active = job.state === 'running' || job.state === 'queued';
  return (
    <div className="job" aria-label={job.title}>
      <div>
        <div className="title">{job.title}</div>
        <div className="stats" aria-live="off">
          <span>{job.state}</span>
          <span>{pct}%</span>
          <span>{formatBytes(job.bytesDone)} of {formatBytes(job.bytesTotal)}</span>
          <span>{job.filesDone} of {job.filesTotal} file{job.filesTotal === 1 ? '' : 's'}</span>
          {job.state === 'running' && <span>{formatRate(job.bytesPerSecond)}</span>}
          {job.state === 'running' && <span>ETA {formatEta(job.etaSeconds)}</span>}
        </div>
        {job.error && <div className="alert error" role="alert">{job.error.message}</div>}
        {job.state === 'cancelled' && <div className="muted">Cancelled; nothing half-written was left behind.</div>}
        {error && <div className="alert error" role="alert">{error}</div>}
      </div>
      <div>
        {active && (
          <button type="button" className="btn small danger" onClick={() => coffer().jobs.cancel({ jobId: job.id }).catch((e: unknown) => setError(errorOf(e).message))} aria-label={`Cancel ${job.title}`}>
            Cancel
          </button>
        )}
      </div>
      <div className="bar" role="progressbar" aria-label={`${job.title} total`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
        <div className={job.state === 'failed' || job.state === 'cancelled' ? 'failed' : job.state === 'done' ? 'done' : ''} style={{ width: `${pct}%` }} />
      </div>
      {job.state === 'running' && job.currentFile && (
        <>
          <div className="stats" style={{ gridColumn: '1 / span 2' }}>
            <span className="mono">{job.currentFile}</span>
            {job.currentFileBytesTotal > 0 ? <span>{filePct}% of {formatBytes(job.currentFileBytesTotal)}</span> : <span>file {Math.min(job.filesDone + 1, job.filesTotal)} of {job.filesTotal}</span>}
          </div>
          {job.currentFileBytesTotal > 0 && (
            <div className="bar file" role="progressbar" aria-label={`${job.title} current file`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={filePct}>
              <div style={{ width: `${filePct}%` }} />
            </div>
          )}
        </>
      )}
    </div>
  );
}

export function JobsPanel(props: { jobs: JobInfo[]; onClear: () => Promise<void> }) {
  if (props.jobs.length === 0) return null;
  const running = props.jobs.filter((j) => j.state === 'running' || j.state === 'queued').length;
  return (
    <section className="jobs" aria-label="Jobs">
      <header>
        <span>Jobs</span>
        <span className="muted">{running > 0 ? `${running} running` : 'all finished'}</span>
        <span className="spacer" />
        <button type="button" className="btn small" onClick={() => void props.onClear()}>Clear finished</button>
      </header>
      {props.jobs.slice().reverse().map((j) => <JobRow key={j.id} job={j} />)}
    </section>
  );
}
