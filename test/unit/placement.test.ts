// Where an event happened decides what it means: mounts in the container facts, the volume a node of
// another hostname used before (RabbitMQ's lost data), and the KB note that names the mount or node.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import { compileKb, createClassifier, FactsCache, parseLine, VolumeHistory } from '../../services/classifier/index.js';
import { containerFacts, tmpfsSizeBytes } from '../../services/collector/facts.js';
import type { ContainerFacts, ContainerMount } from '../../shared/event.js';
import type { IncidentUpdate } from '../../shared/incident.js';
import { parseKbFile, loadKnowledgeBase } from '../../shared/kb/load.js';
import { createLogger } from '../../shared/log.js';
import { MetricsRegistry, pipelineMetrics } from '../../shared/metrics.js';
import { openDatabase } from '../../shared/sqlite.js';
import { SqliteVolumeUsers } from '../../shared/store/volume-users-sqlite.js';

const compiled = compileKb(loadKnowledgeBase());
const RABBIT_VOLUME: ContainerMount = { type: 'volume', source: 'rabbitmq-data', destination: '/var/lib/rabbitmq', readOnly: false };

function inspect(overrides: { Mounts?: unknown[]; HostConfig?: Record<string, unknown> }): Docker.ContainerInspectInfo {
  return {
    Id: 'a'.repeat(64),
    Name: '/app',
    Image: `sha256:${'b'.repeat(64)}`,
    Created: '2026-12-03T12:00:00Z',
    RestartCount: 0,
    State: { Status: 'running', ExitCode: 0, OOMKilled: false, StartedAt: '', FinishedAt: '' },
    Config: { Image: 'app:1', Hostname: 'aaaaaaaaaaaa', Env: [], Cmd: ['app'], Labels: {}, User: '' },
    HostConfig: { NetworkMode: 'none', ...overrides.HostConfig },
    Mounts: overrides.Mounts ?? [],
  } as unknown as Docker.ContainerInspectInfo;
}

function facts(id: string, hostname: string, mounts: ContainerMount[], observedAt: number): ContainerFacts {
  return { ...containerFacts('h1', inspect({}), observedAt), id: id.repeat(64), name: `rabbit-${id}`, hostname, mounts };
}

function classifier(volumes = new VolumeHistory()) {
  return createClassifier({
    kb: compiled,
    facts: new FactsCache(),
    volumes,
    metrics: pipelineMetrics(new MetricsRegistry()),
    log: createLogger('test', 'silent'),
  });
}

/** A log line of container `id` through the production parser and classifier. */
function logLine(c: ReturnType<typeof classifier>, id: string, line: string): Extract<IncidentUpdate, { op: 'signal' }>[] {
  const event = parseLine(line, 'log', { host: 'h1', lineNumber: 1 });
  if (!event) throw new Error('no event');
  return c.updatesFor({ ...event, container: { id: id.repeat(64) } }).filter((u) => u.op === 'signal');
}

const emptyDatabaseLine = (hostname: string) =>
  `2026-12-03 12:32:05.376117+00:00 [info] <0.227.0> Node database directory at /var/lib/rabbitmq/mnesia/rabbit@${hostname} is empty. Assuming we need to join an existing cluster or initialise from scratch...`;

describe('container facts list the mounts', () => {
  it('volumes by name, bind mounts by host path, --tmpfs and --mount tmpfs with their size', () => {
    const f = containerFacts(
      'h1',
      inspect({
        Mounts: [
          { Type: 'volume', Name: 'pgdata', Source: '/var/lib/docker/volumes/pgdata/_data', Destination: '/var/lib/postgresql/data', RW: true },
          { Type: 'bind', Source: '/srv/conf', Destination: '/etc/app', RW: false },
          { Type: 'tmpfs', Source: '', Destination: '/scratch', RW: true },
        ],
        HostConfig: { Tmpfs: { '/data': 'rw,size=1m,mode=1777' }, Mounts: [{ Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: 4096 } }] },
      }),
    );
    expect(f.mounts).toEqual([
      { type: 'volume', source: 'pgdata', destination: '/var/lib/postgresql/data', readOnly: false },
      { type: 'bind', source: '/srv/conf', destination: '/etc/app', readOnly: true },
      { type: 'tmpfs', destination: '/scratch', readOnly: false, sizeBytes: 4096 },
      { type: 'tmpfs', destination: '/data', readOnly: false, sizeBytes: 1024 * 1024 },
    ]);
  });

  it('reads tmpfs sizes as the kernel does, and none for a percentage', () => {
    expect(tmpfsSizeBytes('size=1m')).toBe(1024 * 1024);
    expect(tmpfsSizeBytes('mode=1777,size=64K')).toBe(64 * 1024);
    expect(tmpfsSizeBytes('size=2g')).toBe(2 * 1024 ** 3);
    expect(tmpfsSizeBytes('size=4096')).toBe(4096);
    expect(tmpfsSizeBytes('size=50%')).toBeUndefined();
    expect(tmpfsSizeBytes('')).toBeUndefined();
  });
});

describe('a RabbitMQ node that starts empty on a volume a node of another hostname used', () => {
  it('files hostname-dependent-state on the new container, naming the old node and the volume', () => {
    const c = classifier();
    c.classify([{ type: 'facts', facts: facts('1', 'e1bf7bf4c850', [RABBIT_VOLUME], 1000) }]);
    expect(logLine(c, '1', emptyDatabaseLine('e1bf7bf4c850'))).toEqual([]);
    c.classify([{ type: 'facts', facts: facts('2', '810664d87cf2', [RABBIT_VOLUME], 2000) }]);
    const filed = logLine(c, '2', emptyDatabaseLine('810664d87cf2'));
    expect(filed.map((u) => [u.kbId, u.container?.name])).toEqual([['hostname-dependent-state', 'rabbit-2']]);
    expect(filed[0]?.evidence.note).toContain('holds the data of node rabbit@e1bf7bf4c850 (container rabbit-1');
    expect(filed[0]?.evidence.note).toContain('The volume rabbitmq-data at /var/lib/rabbitmq');
    expect(filed[0]?.evidence.note).toContain('--hostname e1bf7bf4c850');
  });

  it('files nothing for a fresh node, a node on another volume, or a recreated node with a pinned hostname', () => {
    const c = classifier();
    const other: ContainerMount = { ...RABBIT_VOLUME, source: 'other-data' };
    c.classify([
      { type: 'facts', facts: facts('1', 'rabbit1', [RABBIT_VOLUME], 1000) },
      { type: 'facts', facts: facts('2', 'rabbit1', [RABBIT_VOLUME], 2000) },
      { type: 'facts', facts: facts('3', 'fresh', [other], 3000) },
    ]);
    expect(logLine(c, '2', emptyDatabaseLine('rabbit1'))).toEqual([]);
    expect(logLine(c, '3', emptyDatabaseLine('fresh'))).toEqual([]);
  });

  it('repeated facts of the same containers neither forget nor rewrite the earlier user', () => {
    const saved: unknown[] = [];
    const volumes = new VolumeHistory({ loadVolumeUsers: () => [], saveVolumeUsers: (users) => saved.push(users) });
    const c = classifier(volumes);
    const first = facts('1', 'old', [RABBIT_VOLUME], 1000);
    const second = facts('2', 'new', [RABBIT_VOLUME], 2000);
    c.classify([first, first, second, second, { ...first, observedAt: 1500 }].map((f) => ({ type: 'facts' as const, facts: f })));
    expect(saved).toHaveLength(2);
    expect(logLine(c, '2', emptyDatabaseLine('new'))[0]?.evidence.note).toContain('rabbit@old');
  });

  describe('the volume history survives a restart in the all-in-one database', () => {
    let dir: string | undefined;
    afterEach(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    });

    it('a classifier restarted between the two containers still names the old node', () => {
      dir = mkdtempSync(join(tmpdir(), 'fineprint-volumes-'));
      const path = join(dir, 'fineprint.db');
      let db = openDatabase(path);
      classifier(new VolumeHistory(new SqliteVolumeUsers(db))).classify([{ type: 'facts', facts: facts('1', 'old', [RABBIT_VOLUME], 1000) }]);
      db.close();
      db = openDatabase(path);
      const restarted = classifier(new VolumeHistory(new SqliteVolumeUsers(db)));
      restarted.classify([{ type: 'facts', facts: facts('2', 'new', [RABBIT_VOLUME], 2000) }]);
      db.close();
      db = openDatabase(path);
      const again = classifier(new VolumeHistory(new SqliteVolumeUsers(db)));
      again.classify([{ type: 'facts', facts: facts('2', 'new', [RABBIT_VOLUME], 2000) }]);
      expect(logLine(again, '2', emptyDatabaseLine('new'))[0]?.evidence.note).toContain('rabbit@old');
      db.close();
    });
  });
});

describe('a full disk gets the fix of the place it filled', () => {
  const line = "dd: error writing '/data/x': No space left on device";

  it('a tmpfs: the note names the mount and its size', () => {
    const c = classifier();
    c.classify([{ type: 'facts', facts: facts('4', 'filler', [{ type: 'tmpfs', destination: '/data', readOnly: false, sizeBytes: 1024 * 1024 }], 1000) }]);
    const [filed] = logLine(c, '4', line);
    expect(filed?.kbId).toBe('disk-full');
    expect(filed?.evidence.note).toMatch(/^\/data\/x is on the tmpfs mounted at \/data, limited to 1 MB of memory/);
    expect(filed?.evidence.note).toContain('--tmpfs /data:size=64m');
  });

  it('a volume: the note names the volume; no mount known: no note', () => {
    const c = classifier();
    c.classify([
      { type: 'facts', facts: facts('5', 'db', [{ type: 'volume', source: 'appdata', destination: '/data', readOnly: false }], 1000) },
      { type: 'facts', facts: facts('6', 'layer', [], 1000) },
    ]);
    expect(logLine(c, '5', line)[0]?.evidence.note).toMatch(/^\/data\/x is on the volume appdata mounted at \/data/);
    const [unplaced] = logLine(c, '6', line);
    expect(unplaced?.kbId).toBe('disk-full');
    expect(unplaced?.evidence.note).toBeUndefined();
  });
});

describe('KB notes are validated at load', () => {
  it('a note with an unknown placeholder fails, naming the field and the known ones', () => {
    const text = readFileSync(join(import.meta.dirname, '..', '..', 'kb', 'disk-full.yaml'), 'utf8').replace('{tmpfsSize}', '{tmpfsBytes}');
    expect(() => parseKbFile('disk-full.yaml', text)).toThrow(/detectors\.0\.notes\.0: unknown placeholder \{tmpfsBytes\}: use .*\{path\}/);
  });
});
