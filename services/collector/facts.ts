import type Docker from 'dockerode';
import { RECORD_VERSION, type ContainerFacts } from '../../shared/event.js';
import { cutText, isSecretName, REDACTED, redactArgs, redactEnv, redactText } from '../../shared/redact.js';

/** Characters kept of a label's, log option's or event attribute's key and value (cut before redaction). */
const MAX_KEY = 256;
const MAX_VALUE = 4096;

/**
 * Redacts a string map (labels, log options, event attributes), each key and value cut first (a
 * label can hold megabytes). A value under a secret-looking key (`splunk-token`, `db.password`) is
 * dropped whole, even when it looks harmless; any other value is redacted as free text.
 */
export function redactValues(values: Record<string, string> | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values ?? {})) {
    out[redactText(key, MAX_KEY)] = isSecretName(cutText(key, MAX_KEY)) ? REDACTED : redactText(value, MAX_VALUE);
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
