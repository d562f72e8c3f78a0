// The cost of the memory readings: CPU and resident memory of a real `fineprint collector` (real
// Kafka, the test dockerd, the host's cgroup fs) while it reads the memory cgroup of 50 running
// containers with a memory limit every 5 s (its default), beside the same collector process over
// a window of the same length before they started (no limited container to read).
import { rmSync } from 'node:fs';
import { removeContainers, runContainer, testDocker } from '../support/docker.js';
import { startRole } from '../support/fineprint.js';
import { distributedEnv } from '../support/services.js';
import { deleteRunState } from './distributed.js';
import { sampleWindow, type Sample } from './footprint.js';

const MiB = 1024 * 1024;
/** Containers started at once: the engine serialises much of a start anyway. */
const START_BATCH = 10;

export interface MemoryReadingsResult {
  containers: number;
  /** The collector with no limited container running. */
  without: Sample;
  /** The same collector reading `containers` limited containers. */
  with: Sample;
  /** Seconds between the collector's memory readings. */
  intervalSeconds: number;
}

export async function memoryReadingsCost(containers: number, windowMs: number): Promise<MemoryReadingsResult> {
  const docker = testDocker();
  const prefix = `fp-bench-mem-${process.pid}-`;
  await removeContainers(docker, prefix);
  const intervalSeconds = 5;
  const env = { ...distributedEnv(`bench-memory-${process.pid}`), FINEPRINT_MEMORY_INTERVAL: String(intervalSeconds), FINEPRINT_PROBE_INTERVAL: '30' };
  const collector = await startRole('collector', env);
  try {
    const pid = collector.child.pid as number;
    // Start-up work (KB compile, Kafka metadata, the first inspects and audits of what runs on the
    // test dockerd) is not what is measured.
    await new Promise((resolve) => setTimeout(resolve, 3 * intervalSeconds * 1000));
    const [without] = await sampleWindow([pid], windowMs);
    for (let c = 0; c < containers; c += START_BATCH) {
      await Promise.all(
        Array.from({ length: Math.min(START_BATCH, containers - c) }, (_, i) =>
          runContainer(docker, { name: `${prefix}${c + i}`, memory: 32 * MiB, cmd: ['sleep', '3600'] }),
        ),
      );
    }
    // Their starts (events, inspects, audits) settle before the window: what is left is reading them.
    await new Promise((resolve) => setTimeout(resolve, 3 * intervalSeconds * 1000));
    const [withContainers] = await sampleWindow([pid], windowMs);
    return { containers, without: without as Sample, with: withContainers as Sample, intervalSeconds };
  } finally {
    await removeContainers(docker, prefix);
    await collector.stop();
    rmSync(collector.dataDir, { recursive: true, force: true });
    await deleteRunState(env);
  }
}
