import type Docker from 'dockerode';
import type { Logger } from '../../shared/log.js';
import { RISK_RECORD_VERSION, type RiskFinding, type RiskRecord } from '../../shared/risk-record.js';
import { auditContainer, auditDaemon, type DaemonInfo, type Finding } from '../../shared/audit/checks.js';
import { DOCKER_TIMEOUT_MS } from './docker-api.js';

/** `docker info` changes rarely (a daemon restart): read it at most this often. */
const INFO_TTL_MS = 10 * 60_000;

/** The container a risk record is about. */
export interface AuditedContainer {
  id: string;
  name: string;
  image: string;
}

/**
 * The fine-print audit as the collector runs it: on each container start, on each (re)connect to
 * Docker and periodically for every running container and the daemon. Its findings travel as risk
 * records (the container's complete current findings), never as events: they are the host's
 * posture, not incidents.
 */
export interface Auditor {
  /** The findings of one container from its inspect result. */
  findings(info: Docker.ContainerInspectInfo): Promise<RiskFinding[]>;
  /** One container's complete findings at `observedAt`. */
  container(info: Docker.ContainerInspectInfo, observedAt: number): Promise<RiskRecord>;
  /** Clears the risks of a container that was removed. */
  removed(container: AuditedContainer, observedAt: number): RiskRecord;
  /**
   * The whole posture: the daemon's findings, each running container's (from `inspected`), and the
   * list of every container that exists (`existing`), which clears those removed unseen.
   */
  posture(inspected: readonly Docker.ContainerInspectInfo[], existing: readonly string[], observedAt: number): Promise<RiskRecord[]>;
}

const toFinding = (f: Finding): RiskFinding => ({ kbId: f.kbId, severity: f.severity, message: f.message.slice(0, 2000), fix: f.fix.slice(0, 2000) });

/** dockerode's types omit the options argument of info() and version(); the requests honour abortSignal. */
interface DockerWithOptions {
  info(options: { abortSignal: AbortSignal }): Promise<DaemonInfo>;
  version(options: { abortSignal: AbortSignal }): Promise<{ Version?: string; ApiVersion?: string; KernelVersion?: string }>;
}

export function createAuditor(docker: Docker, host: string, log: Logger): Auditor {
  const client = docker as unknown as DockerWithOptions;
  let daemon: { info: DaemonInfo; readAt: number } | undefined;

  const daemonInfo = async (): Promise<DaemonInfo | undefined> => {
    if (!daemon || Date.now() - daemon.readAt > INFO_TTL_MS) {
      try {
        daemon = { info: await client.info.call(docker, { abortSignal: AbortSignal.timeout(DOCKER_TIMEOUT_MS) }), readAt: Date.now() };
      } catch (err) {
        // Without info the checks that need it are skipped; the container checks still run.
        log.warn({ err }, 'Could not read docker info for the audit.');
        return daemon?.info;
      }
    }
    return daemon.info;
  };

  const findings = async (info: Docker.ContainerInspectInfo) => auditContainer(info, (await daemonInfo()) ?? {}).map(toFinding);
  const subject = (info: Docker.ContainerInspectInfo): AuditedContainer => ({ id: info.Id, name: info.Name.replace(/^\//, ''), image: info.Config.Image });

  return {
    findings,
    async container(info, observedAt) {
      return { v: RISK_RECORD_VERSION, scope: 'audit', host, container: subject(info), observedAt, findings: await findings(info) };
    },
    removed(container, observedAt) {
      return { v: RISK_RECORD_VERSION, scope: 'audit', host, container, observedAt, findings: [] };
    },
    async posture(inspected, existing, observedAt) {
      const records: RiskRecord[] = [];
      const info = await daemonInfo();
      // Without `docker info` the daemon's findings are unknown: its earlier ones stay as they were.
      if (info) {
        const version = await client.version.call(docker, { abortSignal: AbortSignal.timeout(DOCKER_TIMEOUT_MS) }).catch(() => undefined);
        records.push({ v: RISK_RECORD_VERSION, scope: 'audit', host, container: null, observedAt, findings: auditDaemon(info, version).map(toFinding) });
      }
      for (const c of inspected) if (c.State.Running) records.push({ v: RISK_RECORD_VERSION, scope: 'audit', host, container: subject(c), observedAt, findings: (await findings(c)) });
      records.push({ v: RISK_RECORD_VERSION, scope: 'present', host, observedAt, containers: [...existing] });
      return records;
    },
  };
}
