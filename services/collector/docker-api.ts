import type Docker from 'dockerode';

/** A request to a healthy local daemon answers in milliseconds; a hung one must not stall a source. */
export const DOCKER_TIMEOUT_MS = 10_000;

export function isNotFound(err: unknown): boolean {
  return (err as { statusCode?: number } | null)?.statusCode === 404;
}

/** Inspect (read-only), or undefined when the container is already gone. */
export async function inspectContainer(docker: Docker, id: string): Promise<Docker.ContainerInspectInfo | undefined> {
  try {
    return await docker.getContainer(id).inspect({ abortSignal: AbortSignal.timeout(DOCKER_TIMEOUT_MS) });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (so stop() never waits out a backoff). */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
