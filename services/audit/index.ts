/**
 * `fineprint audit`: reads the daemon (`info`, `version`) and every container (`listContainers`,
 * `inspect` with `size=1`), runs the pure checks of shared/audit/checks.ts and renders the findings
 * as a table for people or JSON for tools. Read-only Docker API calls only.
 */
import type Docker from 'dockerode';
import { FineprintError, isNotFound } from '../../shared/errors.js';
import type { KnowledgeBase } from '../../shared/kb/load.js';
import { SEVERITY_ORDER, severityRank, type Severity } from '../../shared/kb/schema.js';
import {
  auditContainer,
  auditDaemon,
  CHECK_KB_IDS,
  findingContainer,
  type AuditOptions,
  type ContainerInspect,
  type DaemonInfo,
  type DaemonVersion,
  type Finding,
  type FindingContainer,
} from '../../shared/audit/checks.js';

export interface RunAuditOptions extends AuditOptions {
  /** Container names or ids to audit; default: every running container (every container with `all`). */
  containers?: readonly string[];
  /** Also audit stopped containers when no names are given. */
  all?: boolean;
  /** Per Docker request (default 30 s: `size=1` makes the daemon walk the writable layer). */
  timeoutMs?: number;
  /** Inspects in flight at once (default 4). */
  concurrency?: number;
}

export interface AuditReport {
  daemon: { name: string; serverVersion: string; kernelVersion: string; driver: string; cgroupVersion: string };
  /** Every container audited, with or without findings, by name. */
  containers: FindingContainer[];
  /** Daemon findings first, then per container by name, most severe first. */
  findings: Finding[];
}

/** Fails (FP_KB_INVALID) when a check reports a KB id the loaded knowledge base does not have. */
export function assertChecksInKb(kb: KnowledgeBase): void {
  const missing = CHECK_KB_IDS.filter((id) => !kb.byId.has(id));
  if (missing.length > 0) {
    throw new FineprintError('FP_KB_INVALID', `the audit checks refer to KB entries that are missing: ${missing.join(', ')}`, { missing });
  }
}

/** dockerode passes options (abortSignal) to info() and version() though its types omit them. */
interface DockerWithOptions {
  info(opts: { abortSignal: AbortSignal }): Promise<unknown>;
  version(opts: { abortSignal: AbortSignal }): Promise<unknown>;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      out[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Runs every check against a live daemon; the report also lists the containers audited. */
export async function collectAudit(docker: Docker, options: RunAuditOptions = {}): Promise<AuditReport> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const signal = () => AbortSignal.timeout(timeoutMs);
  const client = docker as unknown as DockerWithOptions;
  let info: DaemonInfo;
  try {
    info = (await client.info({ abortSignal: signal() })) as DaemonInfo;
  } catch (err) {
    throw new FineprintError('FP_DOCKER_UNAVAILABLE', `cannot reach the Docker engine: ${(err as Error).message}`, undefined, { cause: err });
  }
  const version = (await client.version({ abortSignal: signal() }).catch(() => undefined)) as DaemonVersion | undefined;

  const named = options.containers ?? [];
  const ids = named.length > 0 ? named : (await docker.listContainers({ all: options.all ?? false, abortSignal: signal() })).map((c) => c.Id);
  const inspected = await mapLimit(ids, options.concurrency ?? 4, async (id) => {
    try {
      // `size=1` (GET /containers/{id}/json?size=1) adds SizeRw; dockerode's types omit the option.
      const options = { size: true, abortSignal: signal() } as Docker.ContainerInspectOptions;
      const inspect: ContainerInspect = await docker.getContainer(id).inspect(options);
      return inspect;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      // Listed but removed since: not an error. Named by the user: it is.
      if (named.length > 0) throw new FineprintError('FP_NOT_FOUND', `no such container: ${id}`);
      return undefined;
    }
  });
  const containers = inspected.filter((c): c is ContainerInspect => c !== undefined);
  // A container named twice (by name and by id) is audited once.
  const unique = [...new Map(containers.map((c) => [c.Id, c])).values()].sort((a, b) =>
    findingContainer(a).name.localeCompare(findingContainer(b).name),
  );
  const now = options.now ?? Date.now();
  const findings = [
    ...auditDaemon(info, version),
    ...unique.flatMap((c) => auditContainer(c, info, { ...options, now })),
  ];
  return {
    daemon: {
      name: info.Name ?? '',
      serverVersion: version?.Version || info.ServerVersion || 'unknown',
      kernelVersion: info.KernelVersion ?? 'unknown',
      driver: info.Driver ?? 'unknown',
      cgroupVersion: info.CgroupVersion ?? '?',
    },
    containers: unique.map(findingContainer),
    findings,
  };
}

/** Whether any finding is at or above `severity` (`--fail-on`). */
export function anyAtOrAbove(findings: readonly Finding[], severity: Severity): boolean {
  return findings.some((f) => severityRank(f.severity) >= severityRank(severity));
}

/** `--json`: an array of `{container: {id, name, image} | null, kbId, severity, message, fix}`. */
export function renderJson(findings: readonly Finding[]): string {
  const out = findings.map((f) => ({
    container: f.container ? { id: f.container.id, name: f.container.name, image: f.container.image } : null,
    kbId: f.kbId,
    severity: f.severity,
    message: f.message,
    fix: f.fix,
  }));
  return `${JSON.stringify(out, null, 2)}\n`;
}

/** Container names, images and messages are printed to a terminal: no control characters. */
const printable = (text: string) => text.replace(/\p{Cc}+/gu, ' ');

/** The table for people: daemon first, then one block per container, each finding with its KB id and fix. */
export function renderTable(report: AuditReport): string {
  const { daemon, findings, containers } = report;
  const width = Math.max(0, ...findings.map((f) => f.kbId.length));
  const indent = ' '.repeat(2 + 8 + 2 + width + 2);
  const lines: string[] = [
    `fineprint audit: Docker ${printable(daemon.serverVersion)} on ${printable(daemon.name || 'this host')} (kernel ${printable(daemon.kernelVersion)}, ${printable(daemon.driver)}, cgroup v${printable(daemon.cgroupVersion)})`,
  ];
  const block = (title: string, items: readonly Finding[]) => {
    lines.push('', title);
    for (const f of items) {
      lines.push(`  ${f.severity.toUpperCase().padEnd(8)}  ${f.kbId.padEnd(width)}  ${printable(f.message)}`);
      lines.push(`${indent}fix: ${printable(f.fix)}`);
    }
  };
  const daemonFindings = findings.filter((f) => f.container === null);
  if (daemonFindings.length > 0) block('daemon', daemonFindings);
  const clean: string[] = [];
  for (const c of containers) {
    const mine = findings.filter((f) => f.container?.id === c.id);
    if (mine.length === 0) clean.push(printable(c.name));
    else block(`${printable(c.name)}  (${printable(c.image)}, ${c.id.slice(0, 12)})`, mine);
  }
  if (clean.length > 0) lines.push('', `no findings: ${clean.join(', ')}`);
  const counts = [...SEVERITY_ORDER]
    .reverse()
    .map((s) => [s, findings.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  lines.push(
    '',
    `${plural(findings.length, 'finding')}${counts.length > 0 ? ` (${counts.join(', ')})` : ''} in ${plural(containers.length, 'container')} and the daemon; why and how to fix: fineprint kb show ID`,
  );
  return `${lines.join('\n')}\n`;
}
