// `fineprint incidents ...`, `fineprint silences ...` and `fineprint whoami`: the REST API from a
// terminal, like amtool for Alertmanager. Tables for people; `--json` prints what the API answered.
import { parseArgs } from 'node:util';
import { FineprintError } from '../../shared/errors.js';
import type { Incident } from '../../shared/incident.js';
import type { Silence } from '../../shared/silence.js';
import { apiClient, type ApiClient } from './api-client.js';

type Out = NodeJS.WritableStream;

/** Rows as columns padded to their widest cell; the last column is not padded. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n') + (rows.length > 0 ? '\n' : '');
}

/** `2026-11-27 10:00:05Z`: seconds are enough at a terminal, the zone is always said. */
const when = (iso: string | null | undefined): string => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z` : '-');
const whereOf = (i: Incident): string => i.compose?.service ?? i.container?.name ?? `host ${i.host}`;

export const INCIDENTS_USAGE = `Usage: fineprint incidents <list|show|ack|resolve> [options]

  list [--status S] [--severity S[,S]] [--min-severity S] [--kb ID] [--host H] [--container C]
       [-q TEXT] [--since TIME] [--limit N] [--all] [--json]
                        The last N (default 50) incidents seen, most recent first: open and
                        acknowledged ones unless --status or --all (every status)
  show ID [--json]      One incident: what happened, why, how to fix it, its evidence
  ack ID [--comment TEXT] [--by NAME]
                        Acknowledge (admin token): someone is on it
  resolve ID [--comment TEXT] [--by NAME]
                        Resolve (admin token); a recurrence re-opens it

The API is FINEPRINT_URL (default http://127.0.0.1:7777) with FINEPRINT_TOKEN (default the admin
token in FINEPRINT_DATA_DIR).`;

export const SILENCES_USAGE = `Usage: fineprint silences <list|add|expire> [options]

  list [--all] [--json]  Silences in force or still to come (--all: also the ended ones)
  add MATCHER... --comment TEXT [--duration D | --until TIME] [--by NAME]
                        Silence notifications of matching incidents (admin token); a MATCHER is
                        kb=GLOB, host=GLOB or container=GLOB (* and ? wildcards); D like 2h
                        (default); prints the new silence's id
  expire ID...          End silences now (admin token)

The API is FINEPRINT_URL with FINEPRINT_TOKEN, as for fineprint incidents.`;

const LIST_FILTERS = ['status', 'severity', 'min-severity', 'kb', 'host', 'container', 'since', 'limit'] as const;

async function listIncidents(api: ApiClient, args: string[], out: Out): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      status: { type: 'string' },
      severity: { type: 'string' },
      'min-severity': { type: 'string' },
      kb: { type: 'string' },
      host: { type: 'string' },
      container: { type: 'string' },
      since: { type: 'string' },
      limit: { type: 'string' },
      q: { type: 'string', short: 'q' },
      all: { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  const query = new URLSearchParams();
  for (const filter of LIST_FILTERS) {
    const value = values[filter];
    if (typeof value === 'string') query.set(filter === 'min-severity' ? 'minSeverity' : filter, value);
  }
  if (typeof values.q === 'string') query.set('q', values.q);
  const statuses = values.status !== undefined || values.all ? [undefined] : (['open', 'acknowledged'] as const);
  const incidents: Incident[] = [];
  for (const status of statuses) {
    const page = new URLSearchParams(query);
    if (status) page.set('status', status);
    incidents.push(...(await api.call<{ incidents: Incident[] }>('GET', `/api/v1/incidents?${page.toString()}`)).incidents);
  }
  incidents.sort((a, b) => b.lastSeen.localeCompare(a.lastSeen));
  incidents.splice(Number(values.limit ?? 50));
  if (values.json) {
    out.write(`${JSON.stringify(incidents)}\n`);
    return 0;
  }
  if (incidents.length === 0) {
    out.write('no incidents\n');
    return 0;
  }
  out.write(
    table([
      ['ID', 'SEVERITY', 'STATUS', 'KB', 'WHERE', 'COUNT', 'LAST SEEN', 'TITLE'],
      ...incidents.map((i) => [i.id, i.severity, i.status, i.kbId, whereOf(i), String(i.count), when(i.lastSeen), i.title]),
    ]),
  );
  return 0;
}

interface Detail extends Incident {
  kb: { id: string; title: string; why: string; fix: string[] } | null;
  evidence: { ts: number | string; kind: string; message: string }[];
  notifications?: { receiver: string; event: string; state: string; lastError: string | null }[];
}

/** How many pieces of evidence `show` prints (the API keeps up to 100). */
const SHOWN_EVIDENCE = 10;

function renderDetail(d: Detail): string {
  const lines = [
    `${d.title}`,
    `  id         ${d.id}`,
    `  kb         ${d.kbId} (${d.severity})`,
    `  status     ${d.status}${d.acknowledged ? ` by ${d.acknowledged.by} at ${when(d.acknowledged.at)}` : ''}${d.resolved ? ` by ${d.resolved.auto ? 'fineprint (quiet)' : d.resolved.by} at ${when(d.resolved.at)}` : ''}`,
    `  where      ${whereOf(d)} on ${d.host}${d.container?.image ? ` (image ${d.container.image})` : ''}`,
    `  seen       ${d.count} time${d.count === 1 ? '' : 's'}, ${when(d.firstSeen)} to ${when(d.lastSeen)}${d.reopened ? `, re-opened ${d.reopened}x` : ''}`,
    `  message    ${d.message}`,
  ];
  if (d.kb) lines.push('', 'Why:', `  ${d.kb.why.trim().split('\n').join('\n  ')}`, '', 'Fix:', ...d.kb.fix.map((f) => `  - ${f.trim().split('\n').join('\n    ')}`));
  if (d.evidence.length > 0) {
    // Of a long incident only its first and last pieces are kept; evidenceCount counts them all.
    lines.push('', `Evidence (${Math.min(d.evidence.length, SHOWN_EVIDENCE)} of ${Math.max(d.evidenceCount, d.evidence.length)}, newest first):`);
    for (const e of d.evidence.slice(0, SHOWN_EVIDENCE)) lines.push(`  ${when(new Date(e.ts).toISOString())}  ${e.kind.padEnd(8)}  ${e.message}`);
  }
  if (d.notifications && d.notifications.length > 0) {
    lines.push('', 'Notifications:');
    for (const n of d.notifications) lines.push(`  ${n.receiver}  ${n.event}  ${n.state}${n.lastError ? `  (${n.lastError})` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** An incident or silence id as the API accepts it in a path. */
function idArgument(positionals: string[], what: string): string {
  const [id, ...extra] = positionals;
  if (!id || extra.length > 0) throw new FineprintError('FP_BAD_REQUEST', `give one ${what} id`);
  return encodeURIComponent(id);
}

async function showIncident(api: ApiClient, args: string[], out: Out): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true });
  const detail = await api.call<Detail>('GET', `/api/v1/incidents/${idArgument(positionals, 'incident')}`);
  out.write(values.json ? `${JSON.stringify(detail)}\n` : renderDetail(detail));
  return 0;
}

async function markIncident(api: ApiClient, action: 'ack' | 'resolve', args: string[], out: Out): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { comment: { type: 'string', short: 'c' }, by: { type: 'string' } }, allowPositionals: true });
  const id = idArgument(positionals, 'incident');
  const body = { ...(values.comment ? { comment: values.comment } : {}), ...(values.by ? { by: values.by } : {}) };
  const incident = await api.call<Incident>('POST', `/api/v1/incidents/${id}/${action}`, body);
  const mark = action === 'ack' ? incident.acknowledged : incident.resolved;
  out.write(`${incident.id} ${incident.status}${mark ? ` by ${mark.by}` : ''}: ${incident.title} (${whereOf(incident)})\n`);
  return 0;
}

/** `fineprint incidents ...`; throws ApiRefused or FineprintError, which main turns into an exit status. */
export async function incidentsCommand(args: string[], out: Out = process.stdout, api: ApiClient = apiClient()): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'list':
      return listIncidents(api, rest, out);
    case 'show':
      return showIncident(api, rest, out);
    case 'ack':
    case 'resolve':
      return markIncident(api, sub, rest, out);
    default:
      throw new FineprintError('FP_BAD_REQUEST', `${sub === undefined ? 'missing' : `unknown`} subcommand${sub === undefined ? '' : ` "${sub}"`}\n${INCIDENTS_USAGE}`);
  }
}

const MATCHER = /^(kb|host|container)=(.+)$/;
const matchersText = (s: Silence): string =>
  Object.entries(s.matchers)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

async function listSilences(api: ApiClient, args: string[], out: Out): Promise<number> {
  const { values } = parseArgs({ args, options: { all: { type: 'boolean' }, json: { type: 'boolean' } } });
  const now = Date.now();
  const silences = (await api.call<{ silences: Silence[] }>('GET', '/api/v1/silences')).silences.filter((s) => values.all || Date.parse(s.endsAt) > now);
  if (values.json) {
    out.write(`${JSON.stringify(silences)}\n`);
    return 0;
  }
  if (silences.length === 0) {
    out.write(values.all ? 'no silences\n' : 'no silences in force (--all: also the ended ones)\n');
    return 0;
  }
  const state = (s: Silence): string => (Date.parse(s.startsAt) > now ? 'pending' : Date.parse(s.endsAt) > now ? 'active' : 'ended');
  out.write(
    table([
      ['ID', 'MATCHERS', 'STATE', 'ENDS', 'CREATED BY', 'COMMENT'],
      ...silences.map((s) => [s.id, matchersText(s), state(s), when(s.endsAt), s.createdBy, s.comment]),
    ]),
  );
  return 0;
}

async function addSilence(api: ApiClient, args: string[], out: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { comment: { type: 'string', short: 'c' }, duration: { type: 'string', short: 'd' }, until: { type: 'string' }, by: { type: 'string' } },
    allowPositionals: true,
  });
  if (positionals.length === 0) throw new FineprintError('FP_BAD_REQUEST', 'give at least one matcher: kb=GLOB, host=GLOB or container=GLOB');
  const matchers: Record<string, string> = {};
  for (const p of positionals) {
    const m = MATCHER.exec(p);
    if (!m) throw new FineprintError('FP_BAD_REQUEST', `"${p}" is not a matcher: write kb=GLOB, host=GLOB or container=GLOB`);
    matchers[m[1] as string] = m[2] as string;
  }
  if (!values.comment) throw new FineprintError('FP_BAD_REQUEST', '--comment is required: say why, for whoever sees the silence later');
  if (values.duration && values.until) throw new FineprintError('FP_BAD_REQUEST', 'give --duration or --until, not both');
  const body = {
    matchers,
    comment: values.comment,
    ...(values.until ? { endsAt: values.until } : { duration: values.duration ?? '2h' }),
    ...(values.by ? { createdBy: values.by } : {}),
  };
  const silence = await api.call<Silence>('POST', '/api/v1/silences', body);
  out.write(`${silence.id}\n`);
  return 0;
}

async function expireSilences(api: ApiClient, ids: string[], out: Out): Promise<number> {
  if (ids.length === 0) throw new FineprintError('FP_BAD_REQUEST', 'give the id of each silence to expire (fineprint silences list)');
  for (const id of ids) {
    await api.call('DELETE', `/api/v1/silences/${encodeURIComponent(id)}`);
    out.write(`expired ${id}\n`);
  }
  return 0;
}

/** `fineprint silences ...`. */
export async function silencesCommand(args: string[], out: Out = process.stdout, api: ApiClient = apiClient()): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'list':
      return listSilences(api, rest, out);
    case 'add':
      return addSilence(api, rest, out);
    case 'expire':
      return expireSilences(api, rest, out);
    default:
      throw new FineprintError('FP_BAD_REQUEST', `${sub === undefined ? 'missing subcommand' : `unknown subcommand "${sub}"`}\n${SILENCES_USAGE}`);
  }
}

/** `fineprint whoami`: the token's name and scope, as the API sees it. */
export async function whoamiCommand(out: Out = process.stdout, api: ApiClient = apiClient()): Promise<number> {
  const me = await api.call<{ name: string; scope: string }>('GET', '/api/v1/whoami');
  out.write(`${me.name} (${me.scope}) at ${api.url}\n`);
  return 0;
}
