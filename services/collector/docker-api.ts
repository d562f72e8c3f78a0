import type Docker from 'dockerode';
import { isNotFound } from '../../shared/errors.js';
import { CompactJsonReader, INSPECT_POLICY, type CompactLine } from './compact-json.js';

/** A request to a healthy local daemon answers in milliseconds; a hung one must not stall a source. */
export const DOCKER_TIMEOUT_MS = 10_000;

/**
 * Inspect (read-only), or undefined when the container is already gone. The answer is compacted as
 * it arrives (CompactJsonReader): a container's labels can hold megabytes, which are never parsed.
 */
export async function inspectContainer(docker: Docker, id: string): Promise<Docker.ContainerInspectInfo | undefined> {
  try {
    return await new Promise((resolve, reject) => {
      const modem = docker.modem as { dial(options: object, callback: (err: unknown, stream: NodeJS.ReadableStream) => void): void };
      modem.dial(
        {
          path: `/containers/${encodeURIComponent(id)}/json?`,
          method: 'GET',
          isStream: true,
          abortSignal: AbortSignal.timeout(DOCKER_TIMEOUT_MS),
          statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
        },
        (err, stream) => {
          if (err) return reject(err);
          const reader = new CompactJsonReader(INSPECT_POLICY);
          const lines: CompactLine[] = [];
          stream.on('data', (chunk: Buffer) => lines.push(...reader.push(chunk)));
          stream.on('error', reject);
          // After 'end' this changes nothing; without it (aborted at the timeout), it ends the wait.
          stream.on('close', () => reject(new Error(`The inspect of container ${id} was cut short.`)));
          stream.on('end', () => {
            const [line] = [...lines, ...reader.end()];
            if (!line || 'error' in line) return reject(new Error(`Unreadable inspect of container ${id}: ${line ? line.error : 'empty answer'}.`));
            try {
              resolve(JSON.parse(line.json) as Docker.ContainerInspectInfo);
            } catch (parseError) {
              reject(parseError as Error);
            }
          });
        },
      );
    });
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
