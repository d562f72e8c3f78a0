import type { ContainerFacts } from './event.js';

/*
 * The sentence an incident is listed and notified by, built from its evidence and the container's
 * facts (the raw Docker event or kernel line stays in the evidence). Pure: every store computes it
 * the same way where it writes the incident.
 */

/** How the event id of a container's last words, joined to an incident as evidence, begins. */
export const LAST_WORDS_EVENT_PREFIX = 'last-words:';

/** A piece of evidence as far as the summary is concerned. */
export interface SummarizedEvidence {
  eventId: string;
  ts: number;
  message: string;
  action?: string | undefined;
  exitCode?: number | undefined;
}

/** What an incident's summary is built from. */
export interface SummaryInput {
  kbId: string;
  /** The KB entry's title: the sentence of an entry without a summary of its own. */
  title: string;
  /** The container's name, or the host for a host-level incident. */
  subject: string;
  facts?: ContainerFacts | null | undefined;
  /** Its newest evidence, in any order. */
  evidence: readonly SummarizedEvidence[];
}

/** Characters of a quoted output (a health check's) kept in a summary. */
export const MAX_QUOTED = 200;

const MIB = 1024 * 1024;

/** `16 MiB`, `15.9 MiB`: one decimal, none when whole. */
function mebibytes(bytes: number): string {
  return `${Number((bytes / MIB).toFixed(1))} MiB`;
}

/** `4.7 s` below two minutes, `3 min` up to two hours, then hours. */
function duration(ms: number): string {
  if (ms < 120_000) return `${Number((ms / 1000).toFixed(1))} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${Number((ms / 3_600_000).toFixed(1))} h`;
}

function times(n: number): string {
  return n === 1 ? 'once' : n === 2 ? 'twice' : `${n} times`;
}

/** Text quoted in backticks: one line, bounded, without backticks of its own. */
function quoted(text: string): string {
  const line = text.replace(/\s+/g, ' ').replace(/`/g, "'").trim();
  return `\`${line.length > MAX_QUOTED ? `${line.slice(0, MAX_QUOTED - 1)}…` : line}\``;
}

function firstMatch(evidence: readonly SummarizedEvidence[], pattern: RegExp): RegExpExecArray | undefined {
  for (const e of evidence) {
    const m = pattern.exec(e.message);
    if (m) return m;
  }
  return undefined;
}

/** The killed process (`oom-kill:...,task=<comm>,pid=`, `Killed process N (<comm>)`); not the one that invoked the killer. */
const OOM_TASK = /(?:\boom-kill:.*?,task=([^,]+),pid=\d|Killed process \d+ \(([^)]{1,64})\))/;
/**
 * The victim's memory in the kill line: anonymous and shared memory, what its memcg was charged for
 * it (its file pages, the mapped binary, may be charged to another cgroup).
 */
const OOM_RSS = /anon-rss:(\d+)kB, file-rss:\d+kB, shmem-rss:(\d+)kB/;
/** The memcg's usage and limit (`memory: usage 16384kB, limit 16384kB, failcnt 12`). */
const MEMCG_USAGE = /^memory: usage (\d+)kB, limit (\d+)kB/;

function oomSummary({ subject, facts, evidence }: SummaryInput): string {
  const task = firstMatch(evidence, OOM_TASK);
  const name = task?.[1] ?? task?.[2];
  const rss = firstMatch(evidence, OOM_RSS);
  const memcg = firstMatch(evidence, MEMCG_USAGE);
  const used = rss ? (Number(rss[1]) + Number(rss[2])) * 1024 : memcg ? Number(memcg[1]) * 1024 : undefined;
  const limit = memcg ? Number(memcg[2]) * 1024 : facts?.limits.memory || undefined;
  const who = name ? `\`${name}\`` : 'its process';
  if (used !== undefined && limit !== undefined) return `${subject} was OOM-killed: ${who} used ${mebibytes(used)} of its ${mebibytes(limit)} limit`;
  if (limit !== undefined) return `${subject} was OOM-killed at its ${mebibytes(limit)} limit${name ? `: \`${name}\` was killed` : ''}`;
  return `${subject} was OOM-killed${name ? `: \`${name}\` was killed` : ''}`;
}

function crashLoopSummary({ subject, evidence }: SummaryInput): string | undefined {
  const dies = evidence.filter((e) => e.action === 'die' && e.exitCode !== undefined && e.exitCode !== 0);
  if (dies.length === 0) return undefined;
  const ts = dies.map((e) => e.ts);
  const codes = [...new Set(dies.map((e) => e.exitCode as number))].sort((a, b) => a - b);
  const span = Math.max(...ts) - Math.min(...ts);
  const code = codes.length === 1 ? `code ${codes[0]}` : `codes ${codes.join(', ')}`;
  return `${subject} exited ${times(dies.length)}${dies.length > 1 ? ` in ${duration(span)}` : ''} with ${code}`;
}

function unhealthySummary({ subject, facts }: SummaryInput): string {
  const streak = facts?.health?.failingStreak ?? 0;
  const output = facts?.health?.lastOutput?.trim();
  const failed = streak > 0 ? `failed its health check ${times(streak)}` : 'was marked unhealthy';
  return `${subject} ${failed}${output ? `: ${quoted(output)}` : ''}`;
}

function pidsSummary({ subject, facts }: SummaryInput): string {
  const limit = facts?.limits.pids ?? 0;
  return `${subject} could not start a process${limit > 0 ? `: it reached its limit of ${limit} processes` : ''}`;
}

function zombieSummary({ subject, evidence }: SummaryInput): string {
  const counted = Math.max(0, ...evidence.map((e) => Number(/^(\d+) zombie process/.exec(e.message)?.[1] ?? 0)));
  return `${subject} has ${counted > 0 ? `${counted} ` : ''}zombie process${counted === 1 ? '' : 'es'}: its PID 1 does not reap its children`;
}

/** The write that failed (a log line, a kernel line, a probe's reading), quoted: which file or mount it names matters. */
function diskFullSummary({ subject, evidence }: SummaryInput): string {
  const latest = evidence.filter((e) => e.action === undefined && !e.eventId.startsWith(LAST_WORDS_EVENT_PREFIX)).reduce<SummarizedEvidence | undefined>((a, e) => (!a || e.ts > a.ts ? e : a), undefined);
  return `${subject} ran out of space${latest ? `: ${quoted(latest.message)}` : ''}`;
}

/** Summaries of the entries that have their own; the others read `<subject>: <title>`. */
const SUMMARIES: Record<string, (input: SummaryInput) => string | undefined> = {
  'oom-kill': oomSummary,
  'crash-loop': crashLoopSummary,
  unhealthy: unhealthySummary,
  'pids-exhausted': pidsSummary,
  'zombie-reaping': zombieSummary,
  'disk-full': diskFullSummary,
};

/** The incident's summary sentence: what happened to which container, with the figures its evidence gives. */
export function incidentSummary(input: SummaryInput): string {
  return SUMMARIES[input.kbId]?.(input) ?? `${input.subject}: ${input.title}`;
}
