// The real services of scripts/services/ driven from tests: stop and start them to inject faults,
// and the environment a distributed fineprint needs to use them under names of its own.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './docker.js';
import { REPO_ROOT, startRole, type RunningFineprint } from './fineprint.js';

export type ServiceName = 'dockerd' | 'kafka' | 'elasticsearch';

/** Runs scripts/services/<name>.sh start|stop (idempotent, serialised by the script's own lock). */
export function service(name: ServiceName, action: 'start' | 'stop', env: Record<string, string> = {}): void {
  execFileSync('bash', [join(REPO_ROOT, 'scripts', 'services', `${name}.sh`), action], {
    stdio: 'inherit',
    // Kafka and Elasticsearch take up to a minute to start on a busy 2-core machine.
    timeout: 300_000,
    env: { ...process.env, ...env },
  });
}

/**
 * Settings of a distributed fineprint on the shared broker and Elasticsearch: topics, consumer
 * groups and indices under a prefix no other test run uses.
 */
export function distributedEnv(host = 'host-a'): Record<string, string> {
  const run = `t${process.pid}${Date.now().toString(36)}`;
  return {
    FINEPRINT_KAFKA_BROKERS: process.env.FINEPRINT_KAFKA_BROKERS ?? '',
    FINEPRINT_ELASTICSEARCH_URL: process.env.FINEPRINT_ELASTICSEARCH_URL ?? '',
    FINEPRINT_KAFKA_TOPIC_PREFIX: `fineprint-${run}`,
    FINEPRINT_ELASTICSEARCH_INDEX_PREFIX: `fineprint-${run}`,
    FINEPRINT_KAFKA_PARTITIONS: '3',
    FINEPRINT_HOST_NAME: host,
  };
}

/**
 * Starts the distributed pipeline on `env` (api, classifier, collector, in that order) after
 * checking the shared services are there; the roles land in `roles` so the caller stops them.
 */
export async function startPipeline(env: Record<string, string>, roles: Partial<Record<'api' | 'classifier' | 'collector', RunningFineprint>>): Promise<void> {
  if (!env.FINEPRINT_KAFKA_BROKERS) throw new Error('FINEPRINT_KAFKA_BROKERS is unset (eval "$(bash scripts/services/kafka.sh env)")');
  if (!env.FINEPRINT_ELASTICSEARCH_URL) throw new Error('FINEPRINT_ELASTICSEARCH_URL is unset (eval "$(bash scripts/services/elasticsearch.sh env)")');
  roles.api = await startRole('api', env);
  roles.classifier = await startRole('classifier', env);
  roles.collector = await startRole('collector', env);
}

/**
 * A Docker engine of the test's own (scripts/services/dockerd.sh with DOCKERD_DIR), with
 * --live-restore: stopping it leaves containers running (and dying), as on a production host
 * whose dockerd is restarted or upgraded. The shared test daemon is never touched.
 */
export class PrivateDockerd {
  readonly socket: string;
  private readonly env: Record<string, string>;

  constructor(readonly dir: string) {
    this.socket = join(dir, 'docker.sock');
    this.env = { DOCKERD_DIR: dir, DOCKERD_ARGS: '--live-restore' };
  }

  get dockerHost(): string {
    return `unix://${this.socket}`;
  }

  start(): void {
    service('dockerd', 'start', this.env);
  }

  /** Stops the daemon alone (SIGTERM), not its containers (dockerd.sh stop would remove them). */
  async pause(): Promise<void> {
    const pid = Number(readFileSync(join(this.dir, 'docker.pid'), 'utf8'));
    process.kill(pid, 'SIGTERM');
    await waitFor(async () => (isAlive(pid) ? undefined : true), 60_000, `dockerd ${pid} to exit`);
  }

  /** Removes its containers and stops it. */
  remove(): void {
    service('dockerd', 'stop', this.env);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
