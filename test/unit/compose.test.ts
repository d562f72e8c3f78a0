import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig, type Environment } from '../../shared/config.js';
import { PACKAGE_ROOT } from '../../shared/paths.js';
import { apiProcessConfig } from '../../services/api/run.js';
import { classifierProcessConfig } from '../../services/classifier/run.js';
import { collectorProcessConfig } from '../../services/collector/run.js';

/**
 * The fine print of docker-compose.yml, checked on the parsed file (scripts/check-compose.sh checks
 * it with a real Compose parser). Compose resolves YAML merge keys (`<<: *fineprint`), so we do too.
 */

interface Service {
  image?: string;
  build?: string | { context: string };
  command?: string[];
  user?: string;
  privileged?: boolean;
  cap_add?: string[];
  cap_drop?: string[];
  devices?: string[];
  pid?: string;
  init?: boolean;
  volumes?: (string | { type?: string; source?: string; target?: string; read_only?: boolean })[];
  ports?: (string | { host_ip?: string; published?: string | number; target?: number })[];
  environment?: Record<string, string | number | boolean | null>;
  healthcheck?: { test?: string | string[]; disable?: boolean; interval?: string; timeout?: string; retries?: number };
  mem_limit?: string | number;
  memswap_limit?: string | number;
  deploy?: { resources?: { limits?: { memory?: string | number } } };
  pids_limit?: number;
  logging?: { driver?: string; options?: Record<string, string> };
  restart?: string;
  stop_grace_period?: string;
}

const compose = parse(readFileSync(join(PACKAGE_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  version?: unknown;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const services = Object.entries(compose.services);
const service = (name: string): Service => {
  const s = compose.services[name];
  if (!s) throw new Error(`no service "${name}" in docker-compose.yml`);
  return s;
};

/** Compose interpolation as the file uses it: `${NAME:-default}` with nothing set. */
const withDefaults = (value: string): string => value.replace(/\$\{[A-Z0-9_]+(?::?-([^}]*))?\}/g, (_, fallback?: string) => fallback ?? '');

const ROLES = {
  collector: { config: collectorProcessConfig, statusPort: 7778 },
  classifier: { config: classifierProcessConfig, statusPort: 7779 },
  api: { config: apiProcessConfig, statusPort: 7777 },
} as const;

describe('docker-compose.yml', () => {
  it('is a Compose Specification file with the fleet tier and a collector', () => {
    expect(compose.version).toBeUndefined();
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'classifier', 'collector', 'elasticsearch', 'kafka']);
    expect(service('kafka').image).toMatch(/^apache\/kafka:4\./);
    expect(service('elasticsearch').image).toMatch(/^docker\.elastic\.co\/elasticsearch\/elasticsearch:8\.19\.\d+$/);
  });

  describe.each(services)('service %s', (_name, s) => {
    it('has a health check', () => {
      expect(s.healthcheck?.disable).not.toBe(true);
      expect(Array.isArray(s.healthcheck?.test) ? s.healthcheck.test.length : s.healthcheck?.test).toBeTruthy();
      expect(s.healthcheck?.test?.[0]).not.toBe('NONE');
    });

    it('has a memory limit without swap beyond it, and a pids limit', () => {
      expect(s.mem_limit ?? s.deploy?.resources?.limits?.memory).toBeTruthy();
      if (s.mem_limit !== undefined) expect(s.memswap_limit).toBe(s.mem_limit);
      expect(s.pids_limit).toBeGreaterThan(0);
    });

    it('rotates its logs (json-file with max-size and max-file)', () => {
      expect(s.logging?.driver).toBe('json-file');
      expect(s.logging?.options?.['max-size']).toMatch(/^\d+[kmg]$/);
      expect(Number(s.logging?.options?.['max-file'])).toBeGreaterThan(0);
    });

    it('restarts unless stopped and has time to stop gracefully', () => {
      expect(s.restart).toBe('unless-stopped');
      expect(s.stop_grace_period).toBe('30s');
    });

    it('is not privileged and publishes no port on all interfaces by default', () => {
      expect(s.privileged).not.toBe(true);
      for (const port of s.ports ?? []) {
        const hostIp = typeof port === 'string' ? withDefaults(port).split(':')[0] : port.host_ip;
        expect(hostIp, `port ${JSON.stringify(port)}`).toMatch(/^(127\.0\.0\.1|\d+\.\d+\.\d+\.\d+)$/);
        expect(hostIp).not.toBe('0.0.0.0');
      }
    });
  });

  describe.each(Object.entries(ROLES))('fineprint role %s', (role, { config, statusPort }) => {
    const s = service(role);

    it('is built from this repository, runs its role under an init', () => {
      expect(s.build).toBe('.');
      expect(withDefaults(s.image ?? '')).toBe('fineprint:local');
      expect(s.command).toEqual([role]);
      expect(s.init).toBe(true);
    });

    it('has an environment its role accepts', () => {
      const env: Environment = Object.fromEntries(
        Object.entries(s.environment ?? {}).map(([k, v]) => [k, v === null ? undefined : withDefaults(String(v))]),
      );
      const known = new Set([...Object.keys(config), 'NODE_OPTIONS', 'TINI_SUBREAPER']);
      expect(Object.keys(env).filter((k) => !known.has(k))).toEqual([]);
      expect(() => loadConfig(config, env)).not.toThrow();
    });

    it('health-checks its own /healthz on loopback', () => {
      const check = [s.healthcheck?.test ?? []].flat().join(' ');
      const port = role === 'api' ? s.environment?.FINEPRINT_API_PORT : s.environment?.FINEPRINT_STATUS_PORT;
      expect(Number(port)).toBe(statusPort);
      expect(check).toContain(`http://127.0.0.1:${statusPort}/healthz`);
    });
  });

  it('publishes the API on 127.0.0.1 only', () => {
    const ports = service('api').ports ?? [];
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) {
      if (typeof port === 'string') expect(withDefaults(port)).toMatch(/^127\.0\.0\.1:\d+:7777$/);
      else expect(port).toMatchObject({ host_ip: '127.0.0.1', target: 7777 });
    }
  });

  describe('collector', () => {
    const collector = service('collector');
    const volumes = (collector.volumes ?? []).map((v) =>
      typeof v === 'string' ? v : `${v.source}:${v.target}${v.read_only ? ':ro' : ''}`,
    );

    it('mounts the Docker socket read-only', () => {
      const socket = volumes.filter((v) => v.startsWith('/var/run/docker.sock:'));
      expect(socket).toEqual(['/var/run/docker.sock:/var/run/docker.sock:ro']);
    });

    it('mounts nothing from the host writable except its named data volume', () => {
      const binds = volumes.filter((v) => v.startsWith('/') || v.startsWith('$'));
      for (const bind of binds) expect(bind, bind).toMatch(/:ro$/);
      expect(volumes).toContain('collector-data:/var/lib/fineprint');
      expect(compose.volumes).toHaveProperty('collector-data');
    });

    it('reads /dev/kmsg with CAP_SYSLOG only: the device, no other capability, not privileged', () => {
      expect(collector.privileged).not.toBe(true);
      expect(collector.cap_add).toEqual(['SYSLOG']);
      expect(collector.cap_drop).toEqual(['ALL']);
      expect(collector.devices).toEqual(['/dev/kmsg:/dev/kmsg:r']);
      expect(collector.environment?.FINEPRINT_KMSG).toBe('/dev/kmsg');
    });

    it('sees host processes for the zombie probe and stamps a configurable host name', () => {
      expect(collector.pid).toBe('host');
      expect(String(collector.environment?.FINEPRINT_HOST_NAME)).toMatch(/^\$\{FINEPRINT_HOST_NAME:-[^}]+\}$/);
      expect(String(collector.environment?.FINEPRINT_KAFKA_BROKERS)).toMatch(/^\$\{FINEPRINT_KAFKA_BROKERS:-kafka:9092\}$/);
    });

    it('does not wait for Kafka: it buffers on disk instead', () => {
      expect(collector).not.toHaveProperty('depends_on');
    });
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(PACKAGE_ROOT, 'Dockerfile'), 'utf8');
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

  it('builds on node:20-bookworm-slim in stages and runs the CLI as a non-root user', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toContain('ENTRYPOINT ["node", "bin/fineprint.js"]');
    expect(runtime).toContain('CMD ["start"]');
    for (const path of ['package.json', 'node_modules', 'dist', 'bin', 'kb']) expect(runtime).toContain(`/app/${path} ./${path}`);
  });

  it('keeps host build output and secrets out of the build context', () => {
    const ignored = readFileSync(join(PACKAGE_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', '.cache', 'test-results', '.git', '.env']) expect(ignored).toContain(entry);
  });
});
