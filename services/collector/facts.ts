import type Docker from 'dockerode';
import { MAX_HEALTH_OUTPUT, RECORD_VERSION, type ContainerFacts, type ContainerMount } from '../../shared/event.js';
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

/** Characters kept of a mount's source and destination paths. */
const MAX_PATH = 4096;

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** A tmpfs `size=` option in bytes (`size=1m`, `size=65536k`); undefined for none or a percentage. */
export function tmpfsSizeBytes(options: string): number | undefined {
  for (const option of options.split(',')) {
    const size = /^size=(\d+)([kmg]?)$/i.exec(option.trim());
    if (size) return Number(size[1]) * (SIZE_UNITS[(size[2] ?? '').toLowerCase()] ?? 1);
  }
  return undefined;
}

/**
 * Mounts as inspect lists them, plus `--tmpfs` mounts, which the engine keeps in HostConfig.Tmpfs
 * only; a tmpfs size comes from `--tmpfs` options or `--mount type=tmpfs,tmpfs-size=`.
 */
function mountsOf(info: Docker.ContainerInspectInfo): ContainerMount[] {
  const tmpfsSizes = new Map<string, number>();
  for (const m of info.HostConfig.Mounts ?? []) {
    if (m.Type === 'tmpfs' && m.TmpfsOptions?.SizeBytes) tmpfsSizes.set(m.Target, m.TmpfsOptions.SizeBytes);
  }
  for (const [destination, options] of Object.entries(info.HostConfig.Tmpfs ?? {})) {
    const sizeBytes = tmpfsSizeBytes(options);
    if (sizeBytes !== undefined) tmpfsSizes.set(destination, sizeBytes);
  }
  const mounts: ContainerMount[] = (info.Mounts ?? []).map((m) => {
    const source = m.Type === 'volume' ? m.Name : m.Source;
    const sizeBytes = tmpfsSizes.get(m.Destination);
    return {
      type: cutText(m.Type, 32),
      ...(source ? { source: cutText(source, MAX_PATH) } : {}),
      destination: cutText(m.Destination, MAX_PATH),
      readOnly: m.RW === false,
      ...(m.Type === 'tmpfs' && sizeBytes !== undefined ? { sizeBytes } : {}),
    };
  });
  for (const [destination, options] of Object.entries(info.HostConfig.Tmpfs ?? {})) {
    if (mounts.some((m) => m.destination === destination)) continue;
    const sizeBytes = tmpfsSizes.get(destination);
    mounts.push({
      type: 'tmpfs',
      destination: cutText(destination, MAX_PATH),
      readOnly: options.split(',').some((o) => o.trim() === 'ro'),
      ...(sizeBytes !== undefined ? { sizeBytes } : {}),
    });
  }
  return mounts.slice(0, 200);
}

/** Health status, failing streak and the last check's output (redacted: checks often curl with credentials). */
function healthFacts(health: NonNullable<Docker.ContainerInspectInfo['State']['Health']>): NonNullable<ContainerFacts['health']> {
  const output = health.Log?.at(-1)?.Output?.trim();
  return { status: health.Status, failingStreak: health.FailingStreak, ...(output ? { lastOutput: redactText(output, MAX_HEALTH_OUTPUT) } : {}) };
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
    imageId: cutText(info.Image, 200),
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
    ...(health ? { health: healthFacts(health) } : {}),
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
    mounts: mountsOf(info),
  };
}
