import type Docker from 'dockerode';
import { RECORD_VERSION, type ContainerFacts } from '../../shared/event.js';
import { REDACTED, redactArgs, redactEnv, redactText } from '../../shared/redact.js';

/**
 * Redacts the values of a string map (labels, log options, event attributes). The key is part of
 * what redactText inspects, so `splunk-token=...` or `db.password=...` lose their value even though
 * the value alone looks harmless.
 */
export function redactValues(values: Record<string, string> | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values ?? {})) {
    const text = redactText(`${key}=${value}`);
    out[key] = text.startsWith(`${key}=`) ? text.slice(key.length + 1) : REDACTED;
  }
  return out;
}

function commandOf(info: Docker.ContainerInspectInfo): string[] {
  const entrypoint = info.Config.Entrypoint;
  return [...(typeof entrypoint === 'string' ? [entrypoint] : (entrypoint ?? [])), ...(info.Config.Cmd ?? [])];
}

/** The redacted facts the classifier enriches events with, from one `inspect` result. */
export function containerFacts(host: string, info: Docker.ContainerInspectInfo, observedAt: number = Date.now()): ContainerFacts {
  const hc = info.HostConfig;
  const labels = info.Config.Labels ?? {};
  const project = labels['com.docker.compose.project'];
  const service = labels['com.docker.compose.service'];
  const health = info.State.Health;
  return {
    v: RECORD_VERSION,
    host,
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    image: info.Config.Image,
    observedAt,
    created: info.Created,
    ...(project && service ? { compose: { project, service } } : {}),
    limits: {
      memory: hc.Memory ?? 0,
      memorySwap: hc.MemorySwap ?? 0,
      // The API reports an unset limit as null.
      pids: hc.PidsLimit ?? 0,
      oomKillDisable: hc.OomKillDisable ?? false,
      nanoCpus: hc.NanoCpus ?? 0,
    },
    restartPolicy: { name: hc.RestartPolicy?.Name || 'no', maximumRetryCount: hc.RestartPolicy?.MaximumRetryCount ?? 0 },
    ...(health ? { health: { status: health.Status, failingStreak: health.FailingStreak } } : {}),
    state: {
      status: info.State.Status,
      exitCode: info.State.ExitCode,
      oomKilled: info.State.OOMKilled,
      restartCount: info.RestartCount,
      startedAt: info.State.StartedAt,
      finishedAt: info.State.FinishedAt,
    },
    env: redactEnv(info.Config.Env),
    command: redactArgs(commandOf(info)),
    labels: redactValues(labels),
    user: info.Config.User ?? '',
    init: hc.Init ?? false,
    hostname: info.Config.Hostname ?? '',
    networkMode: hc.NetworkMode ?? '',
    privileged: hc.Privileged ?? false,
    logDriver: hc.LogConfig?.Type ?? '',
    logOptions: redactValues(hc.LogConfig?.Config),
  };
}
