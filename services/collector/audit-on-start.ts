import type Docker from 'dockerode';
import { RECORD_VERSION, type NormalizedEvent } from '../../shared/event.js';
import type { Logger } from '../../shared/log.js';
import { auditContainer, type DaemonInfo } from '../audit/index.js';
import { DOCKER_TIMEOUT_MS } from './docker-api.js';

/** `docker info` changes rarely (a daemon restart): read it at most this often. */
const INFO_TTL_MS = 10 * 60_000;

/**
 * Runs the fine-print audit on a container that just started and turns each finding into an
 * `audit` event, so the history shows the risk before the outage. Ids are per container and entry:
 * a restart of the same container repeats them and the stores ignore the repeat.
 */
export function createStartAudit(docker: Docker, host: string, log: Logger): (info: Docker.ContainerInspectInfo, ts: number) => Promise<NormalizedEvent[]> {
  let daemon: { info: DaemonInfo; readAt: number } | undefined;

  const daemonInfo = async (): Promise<DaemonInfo> => {
    if (!daemon || Date.now() - daemon.readAt > INFO_TTL_MS) {
      try {
        // dockerode's types omit the options argument of info(); the request honours abortSignal.
        const info = (docker.info as unknown as (options: { abortSignal: AbortSignal }) => Promise<DaemonInfo>).call(docker, { abortSignal: AbortSignal.timeout(DOCKER_TIMEOUT_MS) });
        daemon = { info: await info, readAt: Date.now() };
      } catch (err) {
        // Without info the checks that need it are skipped; the container checks still run.
        log.warn({ err }, 'Could not read docker info for the start audit.');
        return daemon?.info ?? {};
      }
    }
    return daemon.info;
  };

  return async (info, ts) => {
    const findings = auditContainer(info, await daemonInfo());
    return findings.map((finding) => ({
      v: RECORD_VERSION,
      id: `audit:${info.Id}:${finding.kbId}`,
      host,
      kind: 'audit' as const,
      source: 'docker-events',
      ts,
      message: `${finding.message} (${finding.severity}). Fix: ${finding.fix}`.slice(0, 16384),
      container: { id: info.Id, name: info.Name.replace(/^\//, ''), image: info.Config.Image },
      audit: { kbId: finding.kbId },
    }));
  };
}
