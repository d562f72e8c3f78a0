import type Docker from 'dockerode';
import { isNotFound } from '../../shared/errors.js';
import { CompactJsonReader, INSPECT_POLICY, LIST_POLICY, type CompactionPolicy, type CompactLine } from './compact-json.js';

/** A request to a healthy local daemon answers in milliseconds; a hung one must not stall a source. */
export const DOCKER_TIMEOUT_MS = 10_000;

/**
 * GETs `path` from the Engine API and parses the answer compacted as it arrives (CompactJsonReader):
 * a container's labels can hold megabytes, which are never parsed, nor held whole.
 */
function getCompacted<T>(docker: Docker, path: string, options: object, policy: CompactionPolicy, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const modem = docker.modem as { dial(options: object, callback: (err: unknown, stream: NodeJS.ReadableStream) => void): void };
    modem.dial(
      {
        path,
        method: 'GET',
        options,
        isStream: true,
        abortSignal: AbortSignal.timeout(DOCKER_TIMEOUT_MS),
        statusCodes: { 200: true, 400: 'bad parameter', 404: 'no such container', 500: 'server error' },
      },
      (err, stream) => {
        if (err) return reject(err);
        const reader = new CompactJsonReader(policy);
        const lines: CompactLine[] = [];
        stream.on('data', (chunk: Buffer) => lines.push(...reader.push(chunk)));
        stream.on('error', reject);
        // After 'end' this changes nothing; without it (aborted at the timeout), it ends the wait.
        stream.on('close', () => reject(new Error(`The ${what} was cut short.`)));
        stream.on('end', () => {
          const [line] = [...lines, ...reader.end()];
          if (!line || 'error' in line) return reject(new Error(`Unreadable ${what}: ${line ? line.error : 'empty answer'}.`));
          try {
            resolve(JSON.parse(line.json) as T);
          } catch (parseError) {
            reject(parseError as Error);
          }
        });
      },
    );
  });
}

/** Inspect (read-only), or undefined when the container is already gone; its labels compacted (see getCompacted). */
export async function inspectContainer(docker: Docker, id: string): Promise<Docker.ContainerInspectInfo | undefined> {
  try {
    return await getCompacted<Docker.ContainerInspectInfo>(docker, `/containers/${encodeURIComponent(id)}/json?`, {}, INSPECT_POLICY, `inspect of container ${id}`);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * The containers (running ones, or `all`), their labels compacted (see getCompacted): dockerode
 * parses the whole list at once, megabytes of labels included, on the event loop.
 */
export function listContainers(docker: Docker, options: { all?: boolean } = {}): Promise<Docker.ContainerInfo[]> {
  return getCompacted<Docker.ContainerInfo[]>(docker, '/containers/json?', options.all ? { all: true } : {}, LIST_POLICY, 'container list');
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
