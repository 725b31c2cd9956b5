/**
 * `coffer vault versions | restore | trash | collect | retention`: previous versions and the trash
 * (docs/FORMAT.md §6.16). Same conventions as vault.ts: unlock options, `--json` (stable shapes),
 * vault-derived text through termSafe, one `coffer: ` line and exit 1 on failure, exit 2 on usage errors.
 */
import { CofferError } from '../core/errors';
import type { CollectResult, EntryInfo, TrashInfo, VersionInfo } from '../core/vault';
import { parse } from './args';
import { UsageError, type Subcommand } from './context';
import { termSafe } from './output';
import { unlockOptions } from './unlock';
import { formatBytes, json, needDir, out, usage, withVault } from './vault';

const JSON_OPT = { json: { type: 'boolean' } } as const;

function positiveInt(v: string | undefined, what: string, use: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^(0|[1-9][0-9]{0,8})$/.test(v)) throw new UsageError(`${what} takes a whole number, not ${JSON.stringify(v)}\n${use}`);
  return Number(v);
}

function versionLine(x: VersionInfo): string {
  const what = x.current ? 'current' : `replaced ${x.replaced as string}, kept until ${x.expires as string} at most`;
  return `v${String(x.version).padEnd(5)} ${formatBytes(x.size).padStart(10)}  modified ${x.mtime}  ${what}`;
}

function trashLine(t: TrashInfo): string {
  const what = t.type === 'dir' ? `${termSafe(t.path)}/ (${t.files} file${t.files === 1 ? '' : 's'})` : termSafe(t.path);
  return `${t.id}  deleted ${t.deleted}  ${formatBytes(t.size).padStart(10)}  ${what}  (until ${t.expires})`;
}

function collectText(r: CollectResult): string {
  const parts = [
    `${r.versions} old version${r.versions === 1 ? '' : 's'} and ${r.trash} trash entr${r.trash === 1 ? 'y' : 'ies'} past retention`,
    `${r.blobs} blob${r.blobs === 1 ? '' : 's'} deleted (${formatBytes(r.bytes)})`,
  ];
  if (r.pending > 0) parts.push(`${r.pending} kept for now (deleted by a collection after the 24 h sync grace)`);
  return parts.join('; ');
}

/** `coffer vault versions DIR VPATH [--json]` */
export const cmdVersions: Subcommand = async (args, ctx) => {
  const use = usage('versions', 'DIR VPATH [--json]');
  const { values, positionals } = parse(args, { ...unlockOptions(), ...JSON_OPT }, use);
  const dir = needDir(positionals, use);
  if (positionals.length !== 2) throw new UsageError(`say which file: versions DIR VPATH\n${use}`);
  await withVault(dir, values, ctx, async (v) => {
    const list = v.versions(positionals[1] as string);
    if (values.json) json(ctx, list);
    else out(ctx, list.map(versionLine).join('\n'));
    return Promise.resolve();
  }, { verb: 'read' });
};

/** `coffer vault restore DIR VPATH [--version N] [--json]`: an earlier version, or from the trash. */
export const cmdRestore: Subcommand = async (args, ctx) => {
  const use = usage('restore', 'DIR VPATH [--version N] [--json]');
  const { values, positionals } = parse(args, { ...unlockOptions(), ...JSON_OPT, version: { type: 'string' } }, use);
  const dir = needDir(positionals, use);
  if (positionals.length !== 2) throw new UsageError(`say what to restore: restore DIR VPATH [--version N]\n${use}`);
  const vpath = positionals[1] as string;
  const version = positiveInt(values.version, '--version', use);
  await withVault(dir, values, ctx, async (v) => {
    let e: EntryInfo;
    let how: string;
    if (version !== undefined) {
      e = await v.restoreVersion(vpath, version);
      how = `version ${version} is current again (as v${e.version}; the content it replaced is kept as v${e.version - 1})`;
    } else {
      const id = v.trashIdFor(vpath);
      if (id === null) {
        if (v.stat(vpath)) {
          throw new CofferError('USAGE', `${vpath} is not in the trash; to go back to an earlier version give --version N (see: coffer vault versions ${dir} ${vpath})`);
        }
        throw new CofferError('NOT_FOUND', `${vpath} is neither in vault ${v.name} nor in its trash (see: coffer vault trash ${dir})`);
      }
      e = await v.restoreFromTrash(id);
      how = 'restored from the trash';
    }
    if (values.json) json(ctx, e);
    else out(ctx, `${termSafe(e.path)}: ${how}`);
  }, { verb: 'restore files in' });
};

/** `coffer vault trash DIR [--empty [--id ID]...] [--json]` */
export const cmdTrash: Subcommand = async (args, ctx) => {
  const use = usage('trash', 'DIR [--empty [--id ID]...] [--json]');
  const { values, positionals } = parse(args, { ...unlockOptions(), ...JSON_OPT, empty: { type: 'boolean' }, id: { type: 'string', multiple: true } }, use);
  const dir = needDir(positionals, use);
  if (positionals.length !== 1) throw new UsageError(use);
  if (values.id && !values.empty) throw new UsageError(`--id chooses what --empty removes\n${use}`);
  await withVault(dir, values, ctx, async (v) => {
    if (values.empty) {
      const r = await v.emptyTrash(values.id);
      if (values.json) json(ctx, r);
      else out(ctx, `removed ${r.emptied} entr${r.emptied === 1 ? 'y' : 'ies'} from the trash; ${collectText(r)}`);
      return;
    }
    const entries = v.trash();
    if (values.json) {
      json(ctx, { retention: v.retention, entries });
      return;
    }
    if (entries.length === 0) out(ctx, 'the trash is empty');
    else out(ctx, entries.map(trashLine).join('\n'));
    const r = v.retention;
    ctx.stderr.write(`trash entries are kept ${r.days} days; restore one with: coffer vault restore DIR VPATH\n`);
  }, { verb: values.empty ? 'empty the trash of' : 'read' });
};

/** `coffer vault collect DIR [--json]`: applies retention and deletes what the sync grace allows. */
export const cmdCollect: Subcommand = async (args, ctx) => {
  const use = usage('collect', 'DIR [--json]');
  const { values, positionals } = parse(args, { ...unlockOptions(), ...JSON_OPT }, use);
  const dir = needDir(positionals, use);
  if (positionals.length !== 1) throw new UsageError(use);
  await withVault(dir, values, ctx, async (v) => {
    const r = await v.collect();
    if (values.json) json(ctx, r);
    else out(ctx, collectText(r));
  }, { verb: 'collect old versions in' });
};

/** `coffer vault retention DIR [--days D] [--versions N] [--json]`: shows or sets the vault's retention. */
export const cmdRetention: Subcommand = async (args, ctx) => {
  const use = usage('retention', 'DIR [--days D] [--versions N] [--json]');
  const { values, positionals } = parse(args, { ...unlockOptions(), ...JSON_OPT, days: { type: 'string' }, versions: { type: 'string' } }, use);
  const dir = needDir(positionals, use);
  if (positionals.length !== 1) throw new UsageError(use);
  const days = positiveInt(values.days, '--days', use);
  const versions = positiveInt(values.versions, '--versions', use);
  await withVault(dir, values, ctx, async (v) => {
    let r = v.retention;
    if (days !== undefined || versions !== undefined) r = await v.setRetention({ days: days ?? r.days, versions: versions ?? r.versions });
    if (values.json) json(ctx, r);
    else out(ctx, `previous versions: the newest ${r.versions} per file, none older than ${r.days} days; trash: ${r.days} days`);
  }, { verb: days !== undefined || versions !== undefined ? 'change the settings of' : 'read' });
};
