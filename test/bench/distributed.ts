// Distributed figures on the real broker and Elasticsearch: sustained events/s from a container's
// logs through collector -> Kafka -> classifier (zero loss checked by counting), and OOM kill ->
// incident searchable through the API.
import { removeContainers, runContainer, testDocker, waitFor } from '../support/docker.js';
import { incidentsOf, startRole, type RunningFineprint } from '../support/fineprint.js';
import { percentile, type LatencyResult } from './oom-latency.js';

const MB = 1024 * 1024;

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) total += Number(line.split(' ').at(-1));
  return total;
}

export interface DistributedResult {
  lines: number;
  eventsPerSecond: number;
  lost: number;
  latency: LatencyResult;
}

export async function distributedFigures(lines: number, kills: number): Promise<DistributedResult> {
  const run = `b${process.pid}${Date.now().toString(36)}`;
  const env = {
    FINEPRINT_KAFKA_TOPIC_PREFIX: `fineprint-${run}`,
    FINEPRINT_ELASTICSEARCH_INDEX_PREFIX: `fineprint-${run}`,
    FINEPRINT_HOST_NAME: 'bench',
    FINEPRINT_LOG_LINES_PER_SECOND: '100000',
    FINEPRINT_PROBE_INTERVAL: '60',
  };
  const docker = testDocker();
  const prefix = `fp-bench-dist-${process.pid}-`;
  await removeContainers(docker, prefix);
  const roles: RunningFineprint[] = [];
  try {
    const api = await startRole('api', env);
    roles.push(api);
    const classifier = await startRole('classifier', env);
    roles.push(classifier);
    const collector = await startRole('collector', env);
    roles.push(collector);

    // Latency first, while the pipeline is idle: kill -> incident searchable through the API.
    const latencies: number[] = [];
    for (let i = 0; i < kills; i += 1) {
      const name = `${prefix}oom-${i}`;
      await runContainer(docker, { name, memory: 32 * MB, cmd: ['sh', '-c', 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo ${#x}'] });
      const incident = await waitFor(async () => (await incidentsOf(api.url, { container: name, kb: 'oom-kill' }))[0], 60_000, `the incident of ${name}`, 10);
      latencies.push(Date.now() - Date.parse(incident.firstSeen));
      process.stderr.write(`distributed oom kill ${i + 1}/${kills}: ${latencies.at(-1)} ms\n`);
    }
    // Throughput: one container floods a KB-matching log line; count it at both ends.
    const before = await metric(classifier.url, 'fineprint_records_classified_total');
    await runContainer(docker, { name: `${prefix}flood`, cmd: ['sh', '-c', `yes 'worker: write failed: No space left on device' | head -n ${lines}; sleep 600`] });
    let first = 0;
    let last = 0;
    let seen = before;
    await waitFor(
      async () => {
        const now = await metric(classifier.url, 'fineprint_records_classified_total');
        if (now > seen) {
          if (first === 0) first = Date.now();
          last = Date.now();
          seen = now;
        }
        return now - before >= lines ? true : undefined;
      },
      600_000,
      `${lines} records classified`,
      50,
    );
    const received = await metric(collector.url, 'fineprint_events_received_total{source="container-logs"}');
    const classified = seen - before;

    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      lines,
      eventsPerSecond: Math.round((classified / Math.max(1, last - first)) * 1000),
      lost: Math.max(0, received - classified),
      latency: { samples: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN },
    };
  } finally {
    for (const role of roles.reverse()) await role.stop();
    await removeContainers(docker, prefix);
  }
}
