// The fine-print audit's pure checks (shared/audit/checks.ts) on synthetic inspect and info
// results: one deviation from a clean container at a time, so each test names exactly the KB ids
// it expects; every KB id is a real audit entry and no finding is more severe than its entry.
import { describe, expect, it } from 'vitest';
import { anyAtOrAbove, assertChecksInKb, renderJson, renderTable, type AuditReport } from '../../services/audit/index.js';
import {
  auditContainer,
  auditDaemon,
  CHECK_CATALOGUE,
  CHECK_KB_IDS,
  imageWords,
  isRootUser,
  majorMinor,
  type ContainerInspect,
  type DaemonInfo,
  type Finding,
} from '../../shared/audit/checks.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { severityRank } from '../../shared/kb/schema.js';

const kb = loadKnowledgeBase();
const MB = 1024 * 1024;
const NOW = Date.parse('2026-11-27T12:00:00Z');
const ID = '3f1c2a4b5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708';

/** A current daemon: overlay2 with d_type, cgroup v2, live-restore, userns remapping. */
function daemon(overrides: Partial<DaemonInfo> = {}): DaemonInfo {
  return {
    Name: 'node1',
    ServerVersion: '27.3.1',
    KernelVersion: '6.1.0-18-amd64',
    Driver: 'overlay2',
    DriverStatus: [
      ['Backing Filesystem', 'extfs'],
      ['Supports d_type', 'true'],
    ],
    CgroupVersion: '2',
    LiveRestoreEnabled: true,
    SecurityOptions: ['name=seccomp,profile=builtin', 'name=cgroupns'],
    Warnings: [],
    ...overrides,
  };
}

type Patch = {
  [K in keyof ContainerInspect]?: ContainerInspect[K] extends object | undefined ? Partial<NonNullable<ContainerInspect[K]>> | null : ContainerInspect[K];
};

/** A container with every setting the audit asks for; `patch` merges one level deep. */
function container(patch: Patch = {}): ContainerInspect {
  const base: ContainerInspect = {
    Id: ID,
    Name: '/web',
    Path: 'app',
    Args: ['--port', '8080'],
    State: { Running: true, Status: 'running', StartedAt: '2026-11-27T11:00:00Z' },
    Config: { Hostname: ID.slice(0, 12), User: '1000:1000', Env: ['PATH=/bin'], Cmd: ['app', '--port', '8080'], Image: 'example/web:1.2', Labels: {} },
    HostConfig: {
      Memory: 256 * MB,
      MemorySwap: 256 * MB,
      PidsLimit: 256,
      OomKillDisable: false,
      Init: true,
      Privileged: false,
      NetworkMode: 'bridge',
      PidMode: '',
      IpcMode: 'private',
      RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
    },
    Mounts: [],
    SizeRw: 4096,
  };
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const current = (base as unknown as Record<string, unknown>)[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object' && !Array.isArray(current)
        ? { ...current, ...value }
        : value;
  }
  return out as unknown as ContainerInspect;
}

const ids = (findings: Finding[]) => findings.map((f) => f.kbId).sort();
const audit = (c: ContainerInspect, info: DaemonInfo = daemon()) => auditContainer(c, info, { now: NOW });

describe('the checks and the knowledge base', () => {
  it('every check reports a real KB entry served by the audit', () => {
    expect(() => assertChecksInKb(kb)).not.toThrow();
    for (const id of CHECK_KB_IDS) {
      const entry = kb.byId.get(id);
      expect(entry, id).toBeDefined();
      expect(['audit', 'both'], id).toContain(entry?.detection);
    }
    expect(CHECK_CATALOGUE.length).toBeGreaterThanOrEqual(CHECK_KB_IDS.length);
  });

  it('refuses a knowledge base without an entry a check needs', () => {
    const partial = { entries: kb.entries, byId: new Map([...kb.byId].filter(([id]) => id !== 'oom-kill')) };
    expect(() => assertChecksInKb(partial)).toThrow(/oom-kill/);
  });

  it('no finding is more severe than its KB entry, and every fix is a concrete one-liner', () => {
    const worst = container({
      Path: 'sh',
      Args: ['-c', 'java -jar app.jar'],
      Config: { User: '', Image: 'rabbitmq:3' },
      HostConfig: {
        Memory: 0, MemorySwap: -1, PidsLimit: null, OomKillDisable: true, Init: false, Privileged: true, KernelMemory: 64 * MB,
        PidMode: 'host', NetworkMode: 'host', IpcMode: 'host', UTSMode: 'host', RestartPolicy: { Name: 'no' },
        LogConfig: { Type: 'fluentd', Config: {} }, Links: ['/db:/web/db'], PublishAllPorts: true,
      },
      Mounts: [{ Type: 'bind', Source: '/var/run/docker.sock', Destination: '/var/run/docker.sock', RW: false }],
      SizeRw: 5 * 1024 * MB,
    });
    const old: DaemonInfo = {
      ServerVersion: '17.03.2-ce', KernelVersion: '3.10.0-1160.el7.x86_64', Driver: 'devicemapper', CgroupVersion: '1',
      DriverStatus: [['Data loop file', '/var/lib/docker/devicemapper/data'], ['Data Space Available', '1 GB'], ['Data Space Total', '107.4 GB']],
      LiveRestoreEnabled: false, SecurityOptions: [], Warnings: ['WARNING: No swap limit support', 'WARNING: No blkio throttle.read_bps_device support'],
    };
    const findings = [...audit(worst, old), ...audit(container({ Config: { Image: 'openjdk:17' } })), ...auditDaemon(old), ...auditDaemon({ ...old, Driver: 'overlay2', DriverStatus: [['Supports d_type', 'false']] })];
    expect(new Set(findings.map((f) => f.kbId)).size).toBeGreaterThanOrEqual(18);
    for (const f of findings) {
      const entry = kb.byId.get(f.kbId);
      expect(severityRank(f.severity), `${f.kbId} ${f.severity} > ${entry?.severity}`).toBeLessThanOrEqual(severityRank(entry?.severity ?? 'info'));
      expect(f.fix.length).toBeGreaterThan(10);
      expect(f.fix).not.toContain('\n');
      expect(f.message).not.toContain('\n');
    }
  });
});

describe('container checks', () => {
  it('a clean container has no finding', () => {
    expect(audit(container())).toEqual([]);
    // Also with a non-root named user, on a daemon without userns remapping, under cgroup v1.
    expect(audit(container({ Config: { User: 'app' } }), daemon({ SecurityOptions: [], CgroupVersion: '1' }))).toEqual([]);
  });

  it('reports the container by full id, name without the slash and image as configured', () => {
    const [finding] = audit(container({ HostConfig: { Memory: 0, MemorySwap: 0 } }));
    expect(finding).toEqual({
      container: { id: ID, name: 'web', image: 'example/web:1.2' },
      kbId: 'oom-kill',
      severity: 'medium',
      message: expect.stringContaining('no memory limit'),
      fix: expect.stringContaining('--memory 512m'),
    });
  });

  it('no memory limit -> oom-kill; no pids limit (null, 0, -1) -> pids-exhausted', () => {
    expect(ids(audit(container({ HostConfig: { Memory: 0, MemorySwap: 0 } })))).toEqual(['oom-kill']);
    for (const PidsLimit of [null, 0, -1]) expect(ids(audit(container({ HostConfig: { PidsLimit } })))).toEqual(['pids-exhausted']);
  });

  it('json-file without max-size -> container-log-growth; local and rotated json-file are fine', () => {
    expect(ids(audit(container({ HostConfig: { LogConfig: { Type: 'json-file', Config: {} } } })))).toEqual(['container-log-growth']);
    expect(ids(audit(container({ HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-file': '3' } } } })))).toEqual(['container-log-growth']);
    expect(audit(container({ HostConfig: { LogConfig: { Type: 'local', Config: {} } } }))).toEqual([]);
  });

  it('remote log driver in blocking mode -> log-driver-blocking', () => {
    const [f] = audit(container({ HostConfig: { LogConfig: { Type: 'fluentd', Config: {} } } }));
    expect(f?.kbId).toBe('log-driver-blocking');
    expect(f?.fix).toContain('mode=non-blocking');
    expect(f?.fix).toContain('fluentd-async');
    expect(audit(container({ HostConfig: { LogConfig: { Type: 'gelf', Config: { mode: 'non-blocking' } } } }))).toEqual([]);
  });

  it('a writable layer above the threshold -> copy-on-write-writes (low, medium from 1 GB)', () => {
    const big = audit(container({ SizeRw: 120 * MB }));
    expect(ids(big)).toEqual(['copy-on-write-writes']);
    expect(big[0]?.severity).toBe('low');
    expect(big[0]?.message).toContain('120 MB');
    expect(audit(container({ SizeRw: 2048 * MB }))[0]?.severity).toBe('medium');
    expect(audit(container({ SizeRw: 99 * MB }))).toEqual([]);
    expect(auditContainer(container({ SizeRw: 60 * MB }), daemon(), { now: NOW, rwLayerThresholdBytes: 50 * MB })).toHaveLength(1);
    // Inspected without size=1 (the collector on start): the check is skipped.
    expect(audit(container({ SizeRw: undefined }))).toEqual([]);
  });

  it('a database image without a volume -> copy-on-write-writes, with its data directory in the fix', () => {
    const [f] = audit(container({ Config: { Image: 'postgres:16' } }));
    expect(f?.kbId).toBe('copy-on-write-writes');
    expect(f?.fix).toContain('/var/lib/postgresql/data');
    expect(audit(container({ Config: { Image: 'postgres:16', Hostname: 'db1' }, Mounts: [{ Type: 'volume', Name: 'pg', Destination: '/var/lib/postgresql/data' }] }))).toEqual([]);
    expect(audit(container({ Config: { Image: 'prometheuscommunity/postgres-exporter' } }))).toEqual([]);
  });

  it('privileged, extra capabilities, unconfined profiles and the Docker socket -> privileged-container', () => {
    const priv = audit(container({ HostConfig: { Privileged: true } }));
    expect(ids(priv)).toEqual(['privileged-container']);
    expect(priv[0]?.severity).toBe('high');

    const sysAdmin = audit(container({ HostConfig: { CapAdd: ['CAP_SYS_ADMIN', 'NET_BIND_SERVICE'] } }));
    expect(ids(sysAdmin)).toEqual(['privileged-container']);
    expect(sysAdmin[0]).toMatchObject({ severity: 'high', message: expect.stringContaining('SYS_ADMIN') });
    expect(sysAdmin[0]?.message).not.toContain('NET_BIND_SERVICE');
    expect(audit(container({ HostConfig: { CapAdd: ['IPC_LOCK'] } }))[0]?.severity).toBe('medium');
    expect(audit(container({ HostConfig: { CapAdd: ['NET_BIND_SERVICE', 'chown'] } }))).toEqual([]);

    expect(audit(container({ HostConfig: { SecurityOpt: ['seccomp=unconfined'] } }))).toMatchObject([{ kbId: 'privileged-container', severity: 'medium' }]);
    expect(audit(container({ HostConfig: { SecurityOpt: ['no-new-privileges:true'] } }))).toEqual([]);
    // Docker adds label=disable itself for --pid host: not a finding of its own.
    expect(audit(container({ HostConfig: { SecurityOpt: ['label=disable'] } }))).toEqual([]);

    const sock = audit(container({ Mounts: [{ Type: 'bind', Source: '/run/docker.sock', Destination: '/var/run/docker.sock', RW: false }] }));
    expect(sock).toMatchObject([{ kbId: 'privileged-container', severity: 'high', message: expect.stringContaining('read-only') }]);
    expect(ids(audit(container({ Mounts: [{ Type: 'bind', Source: '/var/run', Destination: '/host/run', RW: true }] })))).toEqual(['privileged-container']);
    expect(audit(container({ Mounts: [{ Type: 'volume', Name: 'data', Source: '/var/lib/docker/volumes/data/_data', Destination: '/data' }] }))).toEqual([]);
  });

  it('host PID, network, IPC or UTS namespace -> host-namespaces; another container\'s network is info', () => {
    expect(audit(container({ HostConfig: { PidMode: 'host' } }))).toMatchObject([{ kbId: 'host-namespaces', severity: 'medium', message: expect.stringContaining('--pid host') }]);
    expect(ids(audit(container({ HostConfig: { NetworkMode: 'host', IpcMode: 'host', UTSMode: 'host' } })))).toEqual(['host-namespaces', 'host-namespaces', 'host-namespaces']);
    expect(audit(container({ HostConfig: { NetworkMode: `container:${ID}` } }))).toMatchObject([{ kbId: 'host-namespaces', severity: 'info' }]);
    expect(audit(container({ HostConfig: { PidMode: `container:${ID}`, IpcMode: 'shareable' } }))).toEqual([]);
  });

  it('root without user-namespace remapping -> userns-remap', () => {
    const plain = daemon({ SecurityOptions: ['name=seccomp,profile=builtin'] });
    for (const User of ['', '0', 'root', '0:0', 'root:staff']) expect(ids(audit(container({ Config: { User } }), plain)), User).toEqual(['userns-remap']);
    expect(audit(container({ Config: { User: '' } }), daemon({ SecurityOptions: ['name=userns'] }))).toEqual([]);
    expect(audit(container({ Config: { User: '' } }), daemon({ SecurityOptions: ['name=rootless'] }))).toEqual([]);
    // Remapping daemon, but the container opts out with --userns host.
    expect(ids(audit(container({ Config: { User: '' }, HostConfig: { UsernsMode: 'host' } }), daemon({ SecurityOptions: ['name=userns'] })))).toEqual(['userns-remap']);
    expect(isRootUser('1000:0')).toBe(false);
  });

  it('no init while PID 1 spawns children -> zombie-reaping (and sigterm-ignored for the shell form)', () => {
    expect(ids(audit(container({ Path: 'sh', Args: ['-c', 'sleep 1 & wait'], HostConfig: { Init: false } })))).toEqual(['sigterm-ignored', 'zombie-reaping']);
    expect(ids(audit(container({ Path: '/bin/bash', Args: ['/entrypoint.sh'], HostConfig: { Init: null } })))).toEqual(['zombie-reaping']);
    expect(ids(audit(container({ Path: 'npm', Args: ['start'], HostConfig: { Init: false } })))).toEqual(['zombie-reaping']);
    expect(ids(audit(container({ Path: 'catalina.sh', Args: ['run'], Config: { Image: 'tomcat:10', Env: ['JAVA_OPTS=x'] }, HostConfig: { Init: false } })))).toEqual(['zombie-reaping']);
    expect(ids(audit(container({ Path: 'java', Args: ['-jar', 'agent.jar'], Config: { Image: 'jenkins/inbound-agent', Env: ['JAVA_OPTS=x'] }, HostConfig: { Init: false } })))).toEqual(['zombie-reaping']);
    // With --init, or an init in the image, or an application that does not spawn: nothing.
    expect(audit(container({ Path: 'sh', Args: ['-c', 'sleep 1 & wait'], HostConfig: { Init: true } }))).toEqual([]);
    expect(audit(container({ Path: '/usr/bin/tini', Args: ['--', 'sh', '-c', 'x'], HostConfig: { Init: false } }))).toEqual([]);
    expect(audit(container({ Path: 'supervisord', Args: ['-n'], HostConfig: { Init: false } }))).toEqual([]);
    expect(audit(container({ Path: 'nginx', Args: ['-g', 'daemon off;'], HostConfig: { Init: false } }))).toEqual([]);
    // Entrypoint + Cmd when Path is absent.
    expect(ids(audit(container({ Path: undefined, Args: undefined, Config: { Entrypoint: ['/bin/sh', '-c'], Cmd: ['run-all'] }, HostConfig: { Init: false } })))).toEqual(['sigterm-ignored', 'zombie-reaping']);
  });

  it('a stateful image with a volume and a generated hostname -> hostname-dependent-state', () => {
    const volume = [{ Type: 'volume', Name: 'rabbit', Destination: '/var/lib/rabbitmq' }];
    const rabbit = audit(container({ Config: { Image: 'fineprint-test/rabbitmq:latest' }, Mounts: volume }));
    expect(ids(rabbit)).toEqual(['hostname-dependent-state']);
    expect(rabbit[0]?.fix).toContain('--hostname');
    expect(rabbit[0]?.message).toContain(ID.slice(0, 12));
    for (const image of ['docker.elastic.co/elasticsearch/elasticsearch:8.15.0', 'confluentinc/cp-kafka:7.6', 'bitnami/postgresql', 'redis@sha256:abcd']) {
      expect(ids(audit(container({ Config: { Image: image }, Mounts: volume }))), image).toContain('hostname-dependent-state');
    }
    expect(audit(container({ Config: { Image: 'rabbitmq:3', Hostname: 'rabbit1' }, Mounts: volume }))).toEqual([]);
    expect(audit(container({ Config: { Image: 'rabbitmq:3', Env: ['RABBITMQ_NODENAME=rabbit@rabbit1'] }, Mounts: volume }))).toEqual([]);
    expect(audit(container({ Config: { Image: 'rabbitmq:3' }, Mounts: [] }))).toEqual([]);
    expect(audit(container({ Config: { Image: 'example/web' }, Mounts: volume }))).toEqual([]);
  });

  it('a JVM under a memory limit without heap settings -> jvm-heap; -Xmx at 90% of the limit too', () => {
    expect(ids(audit(container({ Config: { Image: 'eclipse-temurin:21' }, Path: 'java', Args: ['-jar', 'app.jar'] })))).toEqual(['jvm-heap']);
    expect(ids(audit(container({ Path: 'java', Args: ['-cp', 'app.jar', 'Main'] })))).toEqual(['jvm-heap']);
    expect(ids(audit(container({ Config: { Image: 'openjdk:17' } })))).toEqual(['jvm-heap']);
    // Heap set on the command line or through a JVM options variable (by name; values are not read).
    expect(audit(container({ Config: { Image: 'openjdk:17' }, Path: 'java', Args: ['-XX:MaxRAMPercentage=75', '-jar', 'a.jar'] }))).toEqual([]);
    expect(audit(container({ Config: { Image: 'openjdk:17' }, Path: 'java', Args: ['-Xmx128m', '-jar', 'a.jar'] }))).toEqual([]);
    for (const name of ['JAVA_TOOL_OPTIONS', 'JAVA_OPTS', 'ES_JAVA_OPTS', 'KAFKA_HEAP_OPTS']) {
      expect(audit(container({ Config: { Image: 'openjdk:17', Env: [`${name}=whatever`] } })), name).toEqual([]);
    }
    // No memory limit: that is oom-kill's finding, not jvm-heap's.
    expect(ids(audit(container({ Config: { Image: 'openjdk:17' }, HostConfig: { Memory: 0, MemorySwap: 0 } })))).toEqual(['oom-kill']);
    const tight = audit(container({ Config: { Image: 'openjdk:17' }, Path: 'java', Args: ['-Xmx250m', '-jar', 'a.jar'] }));
    expect(tight).toMatchObject([{ kbId: 'jvm-heap', message: expect.stringContaining('98%') }]);
  });

  it('--oom-kill-disable -> oom-kill-disabled (high on cgroup v1, low where v2 ignores it)', () => {
    const v1 = daemon({ CgroupVersion: '1', KernelVersion: '5.10.0' });
    expect(audit(container({ HostConfig: { OomKillDisable: true } }), v1)).toMatchObject([{ kbId: 'oom-kill-disabled', severity: 'high', message: expect.stringContaining('hangs') }]);
    expect(ids(audit(container({ HostConfig: { OomKillDisable: true, Memory: 0, MemorySwap: 0 } }), v1))).toEqual(['oom-kill', 'oom-kill-disabled']);
    expect(audit(container({ HostConfig: { OomKillDisable: true } }), daemon())).toMatchObject([{ kbId: 'oom-kill-disabled', severity: 'low' }]);
  });

  it('restart policy "no" on a long-running container -> restart-on-another-host (low); one-shots are fine', () => {
    const [f] = audit(container({ HostConfig: { RestartPolicy: { Name: 'no' } } }));
    expect(f).toMatchObject({ kbId: 'restart-on-another-host', severity: 'low', message: expect.stringContaining('up 60 min') });
    expect(ids(audit(container({ HostConfig: { RestartPolicy: { Name: '' } } })))).toEqual(['restart-on-another-host']);
    expect(audit(container({ HostConfig: { RestartPolicy: { Name: 'no' }, AutoRemove: true } }))).toEqual([]);
    expect(audit(container({ HostConfig: { RestartPolicy: { Name: 'no' } }, State: { Running: false, Status: 'exited' } }))).toEqual([]);
    expect(audit(container({ HostConfig: { RestartPolicy: { Name: 'no' } }, Config: { Labels: { 'com.docker.compose.oneoff': 'True' } } }))).toEqual([]);
    expect(audit(container({ HostConfig: { RestartPolicy: { Name: 'no' } }, Config: { Tty: true, OpenStdin: true } }))).toEqual([]);
    expect(audit(container({ HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 5 } } }))).toEqual([]);
  });

  it('swap beyond the limit, --kernel-memory, --link and random host ports', () => {
    expect(audit(container({ HostConfig: { MemorySwap: 0 } }))).toMatchObject([{ kbId: 'swap-limit', severity: 'low', fix: expect.stringContaining('--memory-swap 256m') }]);
    expect(ids(audit(container({ HostConfig: { MemorySwap: -1 } })))).toEqual(['swap-limit']);
    expect(ids(audit(container({ HostConfig: { KernelMemory: 64 * MB } })))).toEqual(['kernel-memory']);
    expect(ids(audit(container({ HostConfig: { Links: ['/db:/web/db'] } })))).toEqual(['legacy-links']);
    expect(ids(audit(container({ HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '' }] } } })))).toEqual(['random-host-ports']);
    expect(ids(audit(container({ HostConfig: { PublishAllPorts: true } })))).toEqual(['random-host-ports']);
    expect(audit(container({ HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } } }))).toEqual([]);
  });

  it('never prints environment values or secret-looking arguments', () => {
    const c = container({
      Path: 'sh',
      Args: ['-c', 'run --password hunter2 --token=s3cr3t-token postgres://app:pa55word@db/app'],
      Config: { User: '', Env: ['DB_PASSWORD=envsecret', 'API_KEY=abc123456789'], Image: 'openjdk:17' },
      HostConfig: { Init: false, RestartPolicy: { Name: 'no' }, PidsLimit: null },
    });
    const text = JSON.stringify(audit(c, daemon({ SecurityOptions: [] })));
    expect(text).toContain('sh -c');
    for (const secret of ['hunter2', 's3cr3t', 'pa55word', 'envsecret', 'abc123456789']) expect(text).not.toContain(secret);
  });
});

describe('daemon checks', () => {
  it('a current daemon has no finding', () => {
    expect(auditDaemon(daemon())).toEqual([]);
  });

  it('old kernel or engine -> old-kernel-or-daemon; cgroup v1 as info', () => {
    expect(auditDaemon(daemon({ KernelVersion: '4.15.0-213-generic', CgroupVersion: '1' }))).toMatchObject([
      { container: null, kbId: 'old-kernel-or-daemon', severity: 'medium', message: expect.stringContaining('4.15.0') },
      { kbId: 'memory-accounting-overhead', severity: 'info' },
      { kbId: 'old-kernel-or-daemon', severity: 'info' },
    ]);
    expect(auditDaemon(daemon({ KernelVersion: '5.3.0' }))).toMatchObject([{ kbId: 'old-kernel-or-daemon', severity: 'medium' }]);
    expect(auditDaemon(daemon({ ServerVersion: '19.03.15' }))).toMatchObject([{ kbId: 'old-kernel-or-daemon', message: expect.stringContaining('19.03.15') }]);
    expect(auditDaemon(daemon({ ServerVersion: '1.13.1' }))).toHaveLength(1);
    expect(auditDaemon(daemon({ ServerVersion: '20.10.24+dfsg1' }))).toEqual([]);
    expect(auditDaemon(daemon(), { Version: '18.09.1' })).toHaveLength(1);
    expect(majorMinor('17.03.2-ce')).toEqual([17, 3]);
    expect(imageWords('registry:5000/confluentinc/cp-kafka:7.6@sha256:ab')).toEqual(['cp-kafka', 'cp', 'kafka']);
  });

  it('devicemapper -> devicemapper-thin-pool (high with loop-lvm or a nearly full pool)', () => {
    const loop = auditDaemon(daemon({ Driver: 'devicemapper', DriverStatus: [['Pool Name', 'docker-thinpool'], ['Data loop file', '/var/lib/docker/devicemapper/devicemapper/data']] }));
    expect(loop).toMatchObject([{ kbId: 'devicemapper-thin-pool', severity: 'high', message: expect.stringContaining('loop-lvm') }]);
    const direct = auditDaemon(daemon({ Driver: 'devicemapper', DriverStatus: [['Data Space Used', '90 GB'], ['Data Space Total', '107.4 GB'], ['Data Space Available', '10.2 GB']] }));
    expect(direct.map((f) => [f.kbId, f.severity])).toEqual([
      ['devicemapper-thin-pool', 'high'],
      ['devicemapper-thin-pool', 'medium'],
    ]);
  });

  it('overlay2 without d_type -> overlay-dtype', () => {
    expect(auditDaemon(daemon({ DriverStatus: [['Backing Filesystem', 'xfs'], ['Supports d_type', 'false']] }))).toMatchObject([
      { kbId: 'overlay-dtype', severity: 'high', message: expect.stringContaining('xfs') },
    ]);
  });

  it('live-restore disabled -> restart-on-another-host (low), not in swarm mode', () => {
    expect(auditDaemon(daemon({ LiveRestoreEnabled: false }))).toMatchObject([{ kbId: 'restart-on-another-host', severity: 'low' }]);
    expect(auditDaemon(daemon({ LiveRestoreEnabled: false, Swarm: { LocalNodeState: 'active' } }))).toEqual([]);
  });

  it('daemon warnings: no swap limit -> swap-limit, no blkio support -> blkio-limits', () => {
    expect(ids(auditDaemon(daemon({ Warnings: ['WARNING: No swap limit support', 'WARNING: No blkio throttle.read_bps_device support'] })))).toEqual(['blkio-limits', 'swap-limit']);
  });
});

describe('rendering', () => {
  const web = container();
  const bad = container({ Id: `ab${ID.slice(2)}`, Name: '/bad', HostConfig: { Privileged: true, Memory: 0, MemorySwap: 0 } });
  const info = daemon({ LiveRestoreEnabled: false });
  const report: AuditReport = {
    daemon: { name: 'node1', serverVersion: '27.3.1', kernelVersion: '6.1.0', driver: 'overlay2', cgroupVersion: '2' },
    containers: [
      { id: bad.Id, name: 'bad', image: 'example/web:1.2' },
      { id: web.Id, name: 'web', image: 'example/web:1.2' },
    ],
    findings: [...auditDaemon(info), ...audit(bad, info), ...audit(web, info)],
  };

  it('--json is an array of exactly {container, kbId, severity, message, fix}', () => {
    const parsed = JSON.parse(renderJson(report.findings)) as Record<string, unknown>[];
    expect(parsed).toHaveLength(3);
    for (const f of parsed) expect(Object.keys(f)).toEqual(['container', 'kbId', 'severity', 'message', 'fix']);
    expect(parsed[0]?.container).toBeNull();
    expect(parsed[1]?.container).toEqual({ id: bad.Id, name: 'bad', image: 'example/web:1.2' });
    expect(parsed.map((f) => f.kbId)).toEqual(['restart-on-another-host', 'privileged-container', 'oom-kill']);
  });

  it('the table groups per container with KB id and fix, and names the clean ones', () => {
    const table = renderTable(report);
    expect(table).toMatch(/^daemon\n {2}LOW +restart-on-another-host +live-restore/m);
    expect(table).toMatch(/^bad {2}\(example\/web:1\.2, ab1c2a4b5d6e\)\n {2}HIGH +privileged-container +runs with --privileged/m);
    expect(table).toContain('fix: remove --privileged');
    expect(table).toContain('no findings: web');
    expect(table).toContain('3 findings (1 high, 1 medium, 1 low) in 2 containers');
  });

  it('prints no control characters from container names or messages', () => {
    const evil = { ...report, findings: [{ ...report.findings[1], message: 'bad \u001b[31mred\u001b[0m\nline' } as Finding] };
    const table = renderTable(evil);
    expect(table).not.toContain('\u001b');
    expect(table).toContain('bad  [31mred [0m line');
  });

  it('--fail-on compares at or above', () => {
    expect(anyAtOrAbove(report.findings, 'high')).toBe(true);
    expect(anyAtOrAbove(report.findings, 'critical')).toBe(false);
    expect(anyAtOrAbove([], 'info')).toBe(false);
  });
});
