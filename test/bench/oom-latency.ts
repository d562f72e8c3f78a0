// Alert latency, all-in-one: real OOM kills in real containers on the test dockerd, measured from the
// kill (the incident's first evidence: the oom event or kernel line) to the incident being searchable
// through the REST API (polled every 10 ms).
import { removeContainers, runContainer, testDocker, waitFor } from '../support/docker.js';
import { incidentsOf, startFineprint } from '../support/fineprint.js';

const MB = 1024 * 1024;

export interface LatencyResult {
  samples: number;
  p50: number;
  p99: number;
  max: number;
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

export async function oomLatency(kills: number): Promise<LatencyResult> {
  const docker = testDocker();
  const prefix = `fp-bench-oom-${process.pid}-`;
  await removeContainers(docker, prefix);
  const fp = await startFineprint({ FINEPRINT_PROBE_INTERVAL: '30' });
  const latencies: number[] = [];
  try {
    for (let i = 0; i < kills; i += 1) {
      const name = `${prefix}${i}`;
      await runContainer(docker, { name, memory: 32 * MB, cmd: ['sh', '-c', 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo ${#x}'] });
      const incident = await waitFor(async () => (await incidentsOf(fp.url, { container: name, kb: 'oom-kill' }))[0], 30_000, `the incident of ${name}`, 10);
      latencies.push(Date.now() - Date.parse(incident.firstSeen));
      process.stderr.write(`oom kill ${i + 1}/${kills}: ${latencies.at(-1)} ms\n`);
    }
  } finally {
    await fp.stop();
    await removeContainers(docker, prefix);
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  return { samples: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN };
}
