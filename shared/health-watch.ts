import type Docker from 'dockerode';
import type { ComponentStatus } from './status-server.js';

/** How often a watched component is checked. */
export const HEALTH_CHECK_INTERVAL_MS = 2000;
/** A check that takes longer than this counts as failed. */
export const HEALTH_CHECK_TIMEOUT_MS = 2000;

/** A component's health, checked in the background. */
export interface HealthWatch {
  /** The latest check's answer, at once. */
  current(): ComponentStatus;
  stop(): void;
}

/**
 * Checks a component every `intervalMs` in the background, so that /healthz answers from memory: a
 * dependency slow under load (a Docker engine busy with megabyte events and log lines answers its
 * ping in hundreds of milliseconds) never makes the health check itself slow. Resolves once the
 * first check has answered.
 */
export async function watchHealth(check: (signal: AbortSignal) => Promise<ComponentStatus>, intervalMs = HEALTH_CHECK_INTERVAL_MS, timeoutMs = HEALTH_CHECK_TIMEOUT_MS): Promise<HealthWatch> {
  const once = (): Promise<ComponentStatus> => {
    // A check that ignores its signal counts as failed at twice the timeout, and the next one runs.
    let cut: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      cut = setTimeout(() => reject(new Error(`no answer within ${2 * timeoutMs} ms`)), 2 * timeoutMs).unref();
    });
    return Promise.race([check(AbortSignal.timeout(timeoutMs)), late])
      .catch((error: unknown) => ({ ok: false, detail: error instanceof Error ? error.message : String(error) }))
      .finally(() => clearTimeout(cut));
  };
  let status = await once();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const next = (): void => {
    timer = setTimeout(() => {
      void once().then((answer) => {
        status = answer;
        if (!stopped) next();
      });
    }, intervalMs);
    timer.unref();
  };
  next();
  return {
    current: () => status,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** dockerode's ping takes an abort signal; its type declarations leave the option out. */
type PingWithSignal = (options: { abortSignal: AbortSignal }) => Promise<unknown>;

/** The Docker engine's health from a ping (see watchHealth). */
export function watchDocker(docker: Docker, dockerHost: string, intervalMs?: number): Promise<HealthWatch> {
  const ping = docker.ping.bind(docker) as unknown as PingWithSignal;
  return watchHealth(
    (abortSignal) =>
      ping({ abortSignal }).then(
        () => ({ ok: true }),
        () => ({ ok: false, detail: `cannot reach ${dockerHost}` }),
      ),
    intervalMs,
  );
}
