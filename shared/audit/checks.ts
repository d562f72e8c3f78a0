/**
 * The fine-print audit: pure checks over what read-only Docker API calls return (`info`, `version`,
 * container `inspect`, optionally with `size=1` for `SizeRw`). Every check names the KB entry that
 * explains it; nothing here talks to Docker, so the collector can run the container checks on each
 * `start` with the inspect result it already has (`auditContainer`).
 *
 * Secrets: environment variables are looked at by NAME only (values are never read), and commands
 * are redacted (shared/redact.ts) before they appear in a message.
 */
import { severityRank, type Severity } from '../kb/schema.js';
import { redactArgs, redactText } from '../redact.js';

export interface FindingContainer {
  id: string;
  name: string;
  image: string;
}

/** One piece of fine print a container (or the daemon, `container: null`) is exposed to. */
export interface Finding {
  container: FindingContainer | null;
  kbId: string;
  severity: Severity;
  message: string;
  /** A concrete one-liner consistent with the KB entry's fix. */
  fix: string;
}

/** The parts of `docker info` the checks read; all optional (old daemons omit some fields). */
export interface DaemonInfo {
  Name?: string;
  ServerVersion?: string;
  KernelVersion?: string;
  Driver?: string;
  DriverStatus?: Array<[string, string]> | string[][] | null;
  CgroupVersion?: string;
  LiveRestoreEnabled?: boolean;
  SecurityOptions?: string[] | null;
  Warnings?: string[] | null;
  SwapLimit?: boolean;
  Swarm?: { LocalNodeState?: string } | null;
}

/** The parts of `docker version` the checks read. */
export interface DaemonVersion {
  Version?: string;
  ApiVersion?: string;
  KernelVersion?: string;
}

interface MountInfo {
  Type?: string;
  Name?: string;
  Source?: string;
  Destination?: string;
  RW?: boolean;
}

/**
 * The parts of a container `inspect` result the checks read. dockerode's `ContainerInspectInfo`
 * is assignable to it; unit tests build small synthetic objects.
 */
export interface ContainerInspect {
  Id: string;
  Name?: string;
  Path?: string;
  Args?: string[] | null;
  State?: { Running?: boolean; Restarting?: boolean; Status?: string; StartedAt?: string };
  Config?: {
    Hostname?: string;
    User?: string;
    /** Only the names (before `=`) are ever looked at. */
    Env?: string[] | null;
    Cmd?: string[] | null;
    Entrypoint?: string | string[] | null;
    Image?: string;
    Labels?: Record<string, string> | null;
    Tty?: boolean;
    OpenStdin?: boolean;
  };
  HostConfig?: {
    Memory?: number;
    MemorySwap?: number;
    KernelMemory?: number;
    PidsLimit?: number | null;
    OomKillDisable?: boolean | null;
    Init?: boolean | null;
    Privileged?: boolean;
    CapAdd?: string[] | null;
    SecurityOpt?: string[] | null;
    NetworkMode?: string;
    PidMode?: string;
    IpcMode?: string;
    UTSMode?: string;
    UsernsMode?: string;
    RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
    AutoRemove?: boolean;
    LogConfig?: { Type?: string; Config?: Record<string, string> | null };
    Links?: string[] | null;
    PublishAllPorts?: boolean;
    PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
  };
  Mounts?: MountInfo[] | null;
  /** Bytes in the container's writable layer: only with `inspect({size: true})`. */
  SizeRw?: number;
}

export interface AuditOptions {
  /** A writable layer above this many bytes is reported (default 100 MiB). */
  rwLayerThresholdBytes?: number;
  /** Clock for uptimes (tests). */
  now?: number;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const DEFAULT_RW_LAYER_THRESHOLD = 100 * MiB;

/** What one check reports; the container is added by the caller. */
interface Issue {
  severity: Severity;
  message: string;
  fix: string;
}

interface ContainerContext {
  c: ContainerInspect;
  info: DaemonInfo;
  name: string;
  image: string;
  /** Lower-case words of the image's repository name: `confluentinc/cp-kafka:7` -> cp-kafka, cp, kafka. */
  imageWords: string[];
  /** The same for every path segment: `jenkins/inbound-agent` -> jenkins, inbound-agent, inbound, agent. */
  imagePathWords: string[];
  /** PID 1's command as configured: Path + Args (Entrypoint + Cmd when Path is absent). */
  argv: string[];
  /** Environment variable names (values are never read). */
  envNames: string[];
  options: Required<AuditOptions>;
}

interface ContainerCheck {
  kbId: string;
  /** The condition, in words (docs/audit.md and the report). */
  what: string;
  run(ctx: ContainerContext): Issue[];
}

interface DaemonContext {
  info: DaemonInfo;
  version: DaemonVersion | undefined;
  serverVersion: string;
  kernel: [number, number] | undefined;
  cgroupVersion: string;
  driverStatus: Map<string, string>;
}

interface DaemonCheck {
  kbId: string;
  what: string;
  run(ctx: DaemonContext): Issue[];
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** Human size: 125829120 -> "120 MB" (MiB, as `docker ps -s` prints). */
export function formatBytes(bytes: number): string {
  if (bytes >= GiB) return `${(bytes / GiB).toFixed(1)} GB`;
  if (bytes >= MiB) return `${Math.round(bytes / MiB)} MB`;
  return `${Math.round(bytes / 1024)} kB`;
}

function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  if (s < 172_800) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86_400)} days`;
}

/** `20.10.24+dfsg1` -> [20, 10]; `17.03.2-ce` -> [17, 3]; `6.1.0-18-amd64` -> [6, 1]. */
export function majorMinor(version: string | undefined): [number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(version ?? '');
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

const older = (v: [number, number], than: [number, number]) => v[0] < than[0] || (v[0] === than[0] && v[1] < than[1]);

function repository(image: string): string {
  let ref = image.toLowerCase().split('@')[0] ?? '';
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) ref = ref.slice(0, colon);
  return ref;
}

const wordsOf = (segment: string) => [segment, ...segment.split(/[-_.]/).filter((w) => w && w !== segment)];

/** Words of an image reference's repository name, lower case, without registry, namespace, tag or digest. */
export function imageWords(image: string): string[] {
  return wordsOf(repository(image).split('/').pop() ?? '');
}

/** Words of every path segment of an image's repository (namespace included), registry host left out. */
function imagePathWords(image: string): string[] {
  const segments = repository(image).split('/');
  if (segments.length > 1 && /[.:]|^localhost$/.test(segments[0] ?? '')) segments.shift();
  return segments.flatMap(wordsOf);
}

const basename = (path: string | undefined) => (path ?? '').split('/').pop() ?? '';

function commandOf(c: ContainerInspect): string[] {
  if (c.Path) return [c.Path, ...(c.Args ?? [])];
  const entrypoint = c.Config?.Entrypoint;
  return [...(typeof entrypoint === 'string' ? [entrypoint] : (entrypoint ?? [])), ...(c.Config?.Cmd ?? [])];
}

/** A command for a message: secrets redacted, control characters dropped, at most 60 characters. */
function showCommand(argv: readonly string[]): string {
  const text = redactText(redactArgs(argv).join(' ')).replace(/\p{Cc}+/gu, ' ');
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const envNamesOf = (env: readonly string[] | null | undefined) => (env ?? []).map((pair) => pair.split('=', 1)[0] ?? '');

/** Whether `Config.User` means uid 0: empty, `root`, `0`, `0:1000`, `root:root`. */
export function isRootUser(user: string | undefined): boolean {
  const uid = (user ?? '').split(':', 1)[0]?.trim() ?? '';
  return uid === '' || uid === '0' || uid === 'root';
}

/** `-Xmx2g` -> bytes. */
function parseJavaSize(text: string): number | undefined {
  const m = /^(\d+)([kmgt]?)$/i.exec(text);
  if (!m) return undefined;
  const unit = { '': 1, k: 1024, m: MiB, g: GiB, t: 1024 * GiB }[(m[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Number(m[1]) * unit;
}

/** Byte sizes as devicemapper prints them in `DriverStatus`: `107.4 GB`, `2.147 GB`, `16.8 MB`. */
function parseDmSize(text: string | undefined): number | undefined {
  const m = /^([\d.]+)\s*([kMGTP]?i?B)$/i.exec((text ?? '').trim());
  if (!m) return undefined;
  const power = ['b', 'kb', 'mb', 'gb', 'tb', 'pb'].indexOf((m[2] ?? '').toLowerCase().replace('ib', 'b'));
  return power < 0 ? undefined : Number(m[1]) * 1000 ** power;
}

const daemonSecurity = (info: DaemonInfo) => (info.SecurityOptions ?? []).map((o) => o.toLowerCase());
const usernsRemapped = (info: DaemonInfo) => daemonSecurity(info).some((o) => o.includes('name=userns'));
const rootless = (info: DaemonInfo) => daemonSecurity(info).some((o) => o.includes('name=rootless'));

// ---------------------------------------------------------------------------------------------
// Image and command knowledge

/** Images that keep state tied to their node name or data directory. */
const STATEFUL_IMAGES = new Set([
  'rabbitmq', 'elasticsearch', 'opensearch', 'cassandra', 'zookeeper', 'kafka', 'mongo', 'mongodb',
  'postgres', 'postgresql', 'mysql', 'mariadb', 'redis', 'consul', 'etcd',
]);
/** Words that make a "stateful" name a tool around it (`postgres-exporter`, `kafka-ui`). */
const TOOL_WORDS = new Set(['exporter', 'ui', 'commander', 'express', 'admin', 'insight', 'manager', 'proxy', 'operator', 'client', 'cli', 'connect', 'backup', 'tools']);

function statefulName(words: readonly string[]): string | undefined {
  if (words.some((w) => TOOL_WORDS.has(w))) return undefined;
  return words.find((w) => STATEFUL_IMAGES.has(w));
}

/** Databases whose data directory belongs on a volume, and where it is. */
const DATABASE_DATA_DIRS: Record<string, string> = {
  postgres: '/var/lib/postgresql/data',
  postgresql: '/var/lib/postgresql/data',
  mysql: '/var/lib/mysql',
  mariadb: '/var/lib/mysql',
  mongo: '/data/db',
  mongodb: '/data/db',
  elasticsearch: '/usr/share/elasticsearch/data',
  redis: '/data',
};

const JVM_IMAGES = new Set([
  'java', 'openjdk', 'jdk', 'jre', 'temurin', 'corretto', 'amazoncorretto', 'zulu', 'liberica', 'adoptopenjdk', 'graalvm',
  'semeru', 'ibmjava', 'sapmachine', 'tomcat', 'tomee', 'jetty', 'wildfly', 'jboss', 'glassfish', 'payara', 'elasticsearch',
  'opensearch', 'logstash', 'kafka', 'zookeeper', 'cassandra', 'solr', 'jenkins', 'keycloak', 'sonarqube', 'neo4j', 'flink',
  'spark', 'hadoop', 'hbase', 'activemq', 'artemis', 'nexus', 'nexus3',
]);
/** Command-line settings that size the heap from (or explicitly below) the container limit. */
const HEAP_FLAG = /^-Xmx|MaxRAMPercentage|MaxRAMFraction|-XX:MaxRAM=|UseContainerSupport/;
/** Environment variables (by name) through which images take JVM options: JAVA_TOOL_OPTIONS, ES_JAVA_OPTS, KAFKA_HEAP_OPTS... */
const JVM_OPTIONS_ENV = /JAVA_?(TOOL_)?OPT|JAVAOPTS|JDK_JAVA_OPTIONS|JVM_?OPT|JVMFLAGS|HEAP|JAVA_MEM/i;

/** PID 1 programs that reap orphans (and forward signals). */
const INITS = new Set(['tini', 'tini-static', 'dumb-init', 'docker-init', 'catatonit', 'init', 's6-svscan', 'supervisord', 'runsvdir', 'my_init', 'systemd']);
const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', 'zsh', 'ksh', 'mksh']);
const NODE_RUNNERS = new Set(['npm', 'yarn', 'pnpm', 'npx']);
const APP_SERVER_SCRIPTS = new Set(['catalina.sh', 'standalone.sh', 'domain.sh', 'jenkins.sh', 'startup.sh']);
/** Images whose process spawns children: Java app servers, CI agents, headless browsers. */
const SPAWNING_IMAGES = new Set([
  'tomcat', 'tomee', 'jetty', 'wildfly', 'jboss', 'glassfish', 'payara', 'jenkins', 'gitlab-runner', 'buildkite-agent',
  'actions-runner', 'teamcity-agent', 'browserless', 'puppeteer', 'playwright', 'selenium', 'chrome', 'chromium',
]);
const BROWSERS = new Set(['chrome', 'chromium', 'chromium-browser', 'google-chrome', 'firefox', 'headless_shell']);

/** Why PID 1 is known to leave orphans behind, or undefined. */
function spawnsChildren(argv: readonly string[], words: readonly string[]): string | undefined {
  const pid1 = basename(argv[0]);
  if (SHELLS.has(pid1)) return 'a shell';
  if (NODE_RUNNERS.has(pid1)) return `${pid1}, which runs the app through a shell`;
  if (APP_SERVER_SCRIPTS.has(pid1)) return 'an application server start script';
  if (BROWSERS.has(pid1)) return 'a browser, which spawns renderer processes';
  const image = words.find((w) => SPAWNING_IMAGES.has(w));
  if (image) return `${image}, which spawns child processes`;
  return undefined;
}

/** Docker's default capabilities; anything else in CapAdd widens the container's powers. */
const DEFAULT_CAPS = new Set([
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP',
  'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
]);
/** Capabilities that amount to (or easily lead to) root on the host. */
const DANGEROUS_CAPS = new Set([
  'ALL', 'SYS_ADMIN', 'SYS_MODULE', 'SYS_PTRACE', 'SYS_RAWIO', 'DAC_READ_SEARCH', 'NET_ADMIN', 'SYS_BOOT', 'BPF',
  'PERFMON', 'MAC_ADMIN', 'MAC_OVERRIDE', 'SYSLOG', 'SYS_TIME',
]);
const REMOTE_LOG_DRIVERS = new Set(['fluentd', 'gelf', 'syslog', 'splunk', 'awslogs', 'gcplogs', 'logentries']);
const SOCKET = /(^|\/)(docker|containerd)\.sock$/;

const isDataMount = (m: MountInfo) => m.Type === 'volume' || m.Type === 'bind';

// ---------------------------------------------------------------------------------------------
// Container checks

const CONTAINER_CHECKS: readonly ContainerCheck[] = [
  {
    kbId: 'oom-kill',
    what: 'no memory limit (HostConfig.Memory 0)',
    run: ({ c, name }) =>
      (c.HostConfig?.Memory ?? 0) > 0
        ? []
        : [
            {
              severity: 'medium',
              message: 'no memory limit: one leak can push the host into the global OOM killer, which may pick dockerd or a neighbour',
              fix: `docker update --memory 512m --memory-swap 512m ${name} (compose mem_limit: 512m), sized to the workload`,
            },
          ],
  },
  {
    kbId: 'oom-kill-disabled',
    what: '--oom-kill-disable (high; low on cgroup v2, where it is ignored)',
    run: ({ c, info }) => {
      if (!c.HostConfig?.OomKillDisable) return [];
      if (info.CgroupVersion === '2') {
        return [{ severity: 'low', message: '--oom-kill-disable is set; cgroup v2 ignores it, but it says the wrong thing about the container', fix: 'remove --oom-kill-disable (compose oom_kill_disable) and let --restart on-failure recover from OOM kills' }];
      }
      const limited = (c.HostConfig.Memory ?? 0) > 0;
      return [
        {
          severity: 'high',
          message: limited
            ? '--oom-kill-disable: at its memory limit the container hangs (processes stuck in the OOM wait) instead of being killed and restarted'
            : '--oom-kill-disable without a memory limit: under host memory pressure the kernel kills other processes instead',
          fix: 'remove --oom-kill-disable (compose oom_kill_disable) and use --restart on-failure; protect a critical process with --oom-score-adj -500 instead',
        },
      ];
    },
  },
  {
    kbId: 'swap-limit',
    what: 'memory limit with MemorySwap not equal to it (it may swap instead of failing)',
    run: ({ c, name }) => {
      const memory = c.HostConfig?.Memory ?? 0;
      const swap = c.HostConfig?.MemorySwap ?? 0;
      if (memory <= 0 || swap === memory) return [];
      const how = swap === -1 ? 'unlimited swap' : swap === 0 ? `as much swap again (${formatBytes(memory)})` : `${formatBytes(swap - memory)} of swap`;
      return [{ severity: 'low', message: `memory limit ${formatBytes(memory)} with ${how}: it slows down by swapping instead of failing fast`, fix: `set --memory-swap equal to --memory: docker update --memory ${Math.round(memory / MiB)}m --memory-swap ${Math.round(memory / MiB)}m ${name} (compose memswap_limit)` }];
    },
  },
  {
    kbId: 'kernel-memory',
    what: '--kernel-memory set (deprecated; ignored on cgroup v2 and kernels 5.4+)',
    run: ({ c }) =>
      (c.HostConfig?.KernelMemory ?? 0) > 0
        ? [{ severity: 'low', message: `--kernel-memory ${formatBytes(c.HostConfig?.KernelMemory ?? 0)} is set: deprecated, ignored on cgroup v2 and kernels 5.4+, and leak-prone on old cgroup v1 kernels`, fix: 'remove --kernel-memory (compose kernel_memory); bound the container with --memory, which includes kernel memory on cgroup v2' }]
        : [],
  },
  {
    kbId: 'pids-exhausted',
    what: 'no pids limit (HostConfig.PidsLimit unset, 0 or -1)',
    run: ({ c, name }) =>
      (c.HostConfig?.PidsLimit ?? 0) > 0
        ? []
        : [
            {
              severity: 'medium',
              message: 'no pids limit: a fork bomb or a thread leak can exhaust the host\'s PIDs for every container and dockerd',
              fix: `docker update --pids-limit 512 ${name} (compose pids_limit: 512), sized for the workload`,
            },
          ],
  },
  {
    kbId: 'container-log-growth',
    what: 'json-file logging without max-size',
    run: ({ c }) => {
      const log = c.HostConfig?.LogConfig;
      if (log?.Type !== 'json-file' || log.Config?.['max-size']) return [];
      return [
        {
          severity: 'medium',
          message: 'logs with json-file and no max-size: the log file grows until the disk is full',
          fix: 'recreate it with --log-opt max-size=10m --log-opt max-file=3 or --log-driver local (daemon.json "log-driver": "local" for every new container)',
        },
      ];
    },
  },
  {
    kbId: 'log-driver-blocking',
    what: 'remote log driver in blocking mode',
    run: ({ c }) => {
      const log = c.HostConfig?.LogConfig;
      const type = log?.Type ?? '';
      if (!REMOTE_LOG_DRIVERS.has(type) || log?.Config?.mode === 'non-blocking') return [];
      return [
        {
          severity: 'medium',
          message: `logs to ${type} in blocking mode: when the log endpoint is slow or down, the application blocks on writing to stdout`,
          fix: `--log-opt mode=non-blocking --log-opt max-buffer-size=4m${type === 'fluentd' ? ' --log-opt fluentd-async=true' : ''} (compose logging.options)`,
        },
      ];
    },
  },
  {
    kbId: 'copy-on-write-writes',
    what: 'writable layer (SizeRw) above the threshold (default 100 MB; medium from 1 GB), or a database image without a volume',
    run: ({ c, name, imageWords: words, options }) => {
      const issues: Issue[] = [];
      const size = c.SizeRw ?? 0;
      if (size > options.rwLayerThresholdBytes) {
        issues.push({
          severity: size >= GiB ? 'medium' : 'low',
          message: `${formatBytes(size)} written into the copy-on-write layer instead of a volume: slow to write, lost when the container is recreated`,
          fix: `mount a volume at the path it writes (docker diff ${name} shows which): -v data:/path, or --tmpfs /tmp for scratch data`,
        });
      }
      const db = words.find((w) => DATABASE_DATA_DIRS[w]);
      if (db && !words.some((w) => TOOL_WORDS.has(w)) && !(c.Mounts ?? []).some(isDataMount)) {
        const dir = DATABASE_DATA_DIRS[db] ?? '/data';
        issues.push({
          severity: 'medium',
          message: `${db} image without a volume: its data lives in the container layer and is lost when the container is recreated`,
          fix: `mount a named volume on its data directory: -v ${db}-data:${dir}`,
        });
      }
      return issues;
    },
  },
  {
    kbId: 'privileged-container',
    what: 'privileged, capabilities beyond the default set, seccomp/AppArmor unconfined, or the Docker socket mounted',
    run: ({ c }) => {
      const hc = c.HostConfig ?? {};
      const issues: Issue[] = [];
      if (hc.Privileged) {
        issues.push({
          severity: 'high',
          message: 'runs with --privileged: every capability and every host device; root in it is root on the host',
          fix: 'remove --privileged; add only what is needed: --cap-drop ALL --cap-add <CAP>, --device /dev/<dev>',
        });
      } else {
        const extra = (hc.CapAdd ?? []).map((cap) => cap.toUpperCase().replace(/^CAP_/, '')).filter((cap) => !DEFAULT_CAPS.has(cap));
        if (extra.length > 0) {
          const dangerous = extra.some((cap) => DANGEROUS_CAPS.has(cap));
          issues.push({
            severity: dangerous ? 'high' : 'medium',
            message: `adds capabilities beyond Docker's default set: ${extra.join(', ')}${dangerous ? ' (enough to escape to the host)' : ''}`,
            fix: `drop --cap-add ${extra.join(' --cap-add ')}; grant only what the process needs: --cap-drop ALL --cap-add NET_BIND_SERVICE`,
          });
        }
        // Not `label=disable`: Docker adds it itself with --pid host / --ipc host (see host-namespaces).
        const unconfined = (hc.SecurityOpt ?? []).filter((o) => /^(seccomp|apparmor|systempaths)[=:]unconfined$/i.test(o));
        if (unconfined.length > 0) {
          issues.push({
            severity: 'medium',
            message: `security profile disabled: --security-opt ${unconfined.join(', ')}`,
            fix: 'keep the default seccomp and AppArmor profiles; write a custom profile (--security-opt seccomp=profile.json) instead of unconfined',
          });
        }
      }
      for (const m of c.Mounts ?? []) {
        const source = m.Source ?? '';
        const destination = m.Destination ?? '';
        const socket = SOCKET.test(source) || SOCKET.test(destination);
        const runDir = m.Type === 'bind' && (source === '/var/run' || source === '/run');
        if (!socket && !runDir) continue;
        issues.push({
          severity: 'high',
          message: socket
            ? `the Docker socket is mounted (${source} -> ${destination}${m.RW === false ? ', read-only, which does not stop API calls' : ''}): anyone in the container controls the daemon, i.e. root on the host`
            : `${source} is mounted (${destination}), and with it the Docker socket: anyone in the container controls the daemon`,
          fix: 'do not mount the Docker socket into application containers; use a socket proxy with an allow-list, rootless Docker or a separate daemon',
        });
      }
      return issues;
    },
  },
  {
    kbId: 'host-namespaces',
    what: 'host PID, IPC, network or UTS namespace (network of another container: info)',
    run: ({ c }) => {
      const hc = c.HostConfig ?? {};
      const issues: Issue[] = [];
      if (hc.PidMode === 'host') {
        issues.push({ severity: 'medium', message: 'shares the host PID namespace (--pid host): it sees and can signal every process on the host', fix: 'drop --pid host; to debug one container use --pid container:<name>' });
      }
      if (hc.NetworkMode === 'host') {
        issues.push({ severity: 'medium', message: 'shares the host network namespace (--network host): no network isolation, its ports collide with the host\'s', fix: 'use a user-defined bridge and publish the ports it serves: --network app -p 8080:80' });
      }
      if (hc.IpcMode === 'host') {
        issues.push({ severity: 'medium', message: 'shares the host IPC namespace (--ipc host): host shared memory and semaphores are reachable', fix: 'drop --ipc host; share IPC with one container only: --ipc shareable / --ipc container:<name>' });
      }
      if (hc.UTSMode === 'host') {
        issues.push({ severity: 'medium', message: 'shares the host UTS namespace (--uts host): it can change the host name', fix: 'drop --uts host; set its own name with --hostname' });
      }
      if (hc.NetworkMode?.startsWith('container:')) {
        issues.push({ severity: 'info', message: `shares the network namespace of another container (${hc.NetworkMode.slice(0, 22)}): it goes down with it`, fix: 'put both on a user-defined network (--network app) unless the sidecar pattern is intended' });
      }
      return issues;
    },
  },
  {
    kbId: 'userns-remap',
    what: 'runs as root while the daemon has no user-namespace remapping (and is not rootless)',
    run: ({ c, info }) => {
      if (!isRootUser(c.Config?.User) || rootless(info)) return [];
      if (usernsRemapped(info) && c.HostConfig?.UsernsMode !== 'host') return [];
      return [
        {
          severity: 'low',
          message: `runs as root (user "${c.Config?.User || 'root'}") ${usernsRemapped(info) ? 'with --userns host' : 'and the daemon has no user-namespace remapping'}: root in the container is root on the host`,
          fix: 'run as a non-root user: --user 10001:10001 (USER 10001 in the Dockerfile), or daemon.json "userns-remap": "default"',
        },
      ];
    },
  },
  {
    kbId: 'zombie-reaping',
    what: 'no init as PID 1 while PID 1 is known to spawn children (shell, npm/yarn, app server scripts, browsers, CI agents)',
    run: ({ c, argv, imagePathWords: words }) => {
      if (c.HostConfig?.Init === true || INITS.has(basename(argv[0]))) return [];
      const why = spawnsChildren(argv, words);
      if (!why) return [];
      return [
        {
          severity: 'low',
          message: `PID 1 is ${why} (\`${showCommand(argv)}\`) and the container runs without --init: orphaned children are never reaped, zombies pile up and hold PIDs`,
          fix: 'run with --init (compose init: true), or ENTRYPOINT ["/usr/bin/tini", "--"] in the image',
        },
      ];
    },
  },
  {
    kbId: 'sigterm-ignored',
    what: 'shell form (`sh -c ...` as PID 1) without an init',
    run: ({ c, argv }) => {
      if (c.HostConfig?.Init === true || !SHELLS.has(basename(argv[0])) || argv[1] !== '-c') return [];
      return [
        {
          severity: 'low',
          message: `PID 1 is a shell (\`${showCommand(argv)}\`): it does not pass SIGTERM on, so docker stop waits out the timeout and SIGKILLs the application`,
          fix: 'use the exec form CMD ["app", "--flag"] (exec "$@" at the end of entrypoint scripts), or run with --init',
        },
      ];
    },
  },
  {
    kbId: 'hostname-dependent-state',
    what: 'stateful image (rabbitmq, elasticsearch, kafka, postgres...) with a data volume and an auto-generated hostname',
    run: ({ c, imageWords: words, envNames }) => {
      const stateful = statefulName(words);
      if (!stateful || !(c.Mounts ?? []).some(isDataMount)) return [];
      const hostname = c.Config?.Hostname ?? '';
      if (hostname !== c.Id.slice(0, 12)) return [];
      if (stateful === 'rabbitmq' && envNames.includes('RABBITMQ_NODENAME')) return [];
      return [
        {
          severity: 'medium',
          message: `${stateful} keeps data on a volume but its hostname is the generated ${hostname}: a recreated container gets a new hostname, and the node name and data tied to it no longer match`,
          fix:
            stateful === 'rabbitmq'
              ? 'pin the hostname: --hostname rabbit1 (compose hostname: rabbit1), or RABBITMQ_NODENAME=rabbit@rabbit1'
              : `pin the hostname: --hostname ${stateful}1 (compose hostname: ${stateful}1)`,
        },
      ];
    },
  },
  {
    kbId: 'jvm-heap',
    what: 'JVM under a memory limit without container-aware heap settings, or with -Xmx at 90%+ of the limit',
    run: ({ c, argv, imageWords: words, envNames }) => {
      const memory = c.HostConfig?.Memory ?? 0;
      const jvm = words.some((w) => JVM_IMAGES.has(w)) || basename(argv[0]) === 'java' || argv.some((a) => /\.jar$/.test(a));
      if (!jvm || memory <= 0) return [];
      const xmx = argv.map((a) => /^-Xmx(\S+)$/.exec(a)?.[1]).find((v) => v !== undefined);
      const heap = xmx !== undefined ? parseJavaSize(xmx) : undefined;
      if (heap !== undefined && heap >= 0.9 * memory) {
        return [
          {
            severity: 'medium',
            message: `-Xmx${xmx} is ${Math.round((heap / memory) * 100)}% of the ${formatBytes(memory)} memory limit: no room for metaspace, threads and direct buffers, so the kernel OOM-kills it`,
            fix: 'set -Xmx about 25% below --memory, or use -XX:MaxRAMPercentage=75 instead',
          },
        ];
      }
      if (argv.some((a) => HEAP_FLAG.test(a)) || envNames.some((n) => JVM_OPTIONS_ENV.test(n))) return [];
      return [
        {
          severity: 'medium',
          message: `JVM under a ${formatBytes(memory)} memory limit without container-aware heap settings (no -Xmx or -XX:MaxRAMPercentage in its command, no JAVA_TOOL_OPTIONS/JAVA_OPTS)`,
          fix: 'size the heap from the limit: -e JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=75" (JDK 10+/8u191+)',
        },
      ];
    },
  },
  {
    kbId: 'restart-on-another-host',
    what: 'restart policy "no" on a running, long-running container (not --rm, not a compose one-off, not interactive)',
    run: ({ c, name, options }) => {
      const policy = c.HostConfig?.RestartPolicy?.Name || 'no';
      if (policy !== 'no' || !c.State?.Running || c.HostConfig?.AutoRemove) return [];
      if (c.Config?.Labels?.['com.docker.compose.oneoff']?.toLowerCase() === 'true') return [];
      if (c.Config?.Tty && c.Config.OpenStdin) return [];
      const started = Date.parse(c.State.StartedAt ?? '');
      const up = Number.isNaN(started) ? undefined : options.now - started;
      if (up !== undefined && up <= 0) return [];
      return [
        {
          severity: 'low',
          message: `restart policy "no" on a long-running container${up !== undefined ? ` (up ${formatDuration(up)})` : ''}: after a crash, a reboot or a daemon restart it stays down`,
          fix: `docker update --restart unless-stopped ${name} (compose restart: unless-stopped)`,
        },
      ];
    },
  },
  {
    kbId: 'legacy-links',
    what: 'legacy --link',
    run: ({ c }) =>
      (c.HostConfig?.Links ?? []).length > 0
        ? [{ severity: 'low', message: `uses legacy links (--link ${(c.HostConfig?.Links ?? []).map((l) => l.split(':')[0]?.replace(/^\//, '')).join(', ')}): one-way, frozen at start, and they rename hosts`, fix: 'docker network create app and run both containers with --network app; refer to peers by container name' }]
        : [],
  },
  {
    kbId: 'random-host-ports',
    what: 'published ports with an automatically chosen host port (-P, or -p without a host port)',
    run: ({ c }) => {
      const hc = c.HostConfig ?? {};
      const random = Object.entries(hc.PortBindings ?? {})
        .filter(([, bindings]) => (bindings ?? []).some((b) => !b.HostPort || b.HostPort === '0'))
        .map(([port]) => port);
      if (!hc.PublishAllPorts && random.length === 0) return [];
      return [
        {
          severity: 'low',
          message: `${hc.PublishAllPorts ? 'publishes every exposed port (-P)' : `publishes ${random.join(', ')}`} on a random host port: it changes when the container is recreated`,
          fix: 'publish fixed host ports: -p 8080:80 (compose ports: ["8080:80"])',
        },
      ];
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Daemon checks

const DAEMON_CHECKS: readonly DaemonCheck[] = [
  {
    kbId: 'old-kernel-or-daemon',
    what: 'kernel older than 4.19 (5.4 on cgroup v2), Docker Engine older than 20.10; cgroup v1 as info',
    run: ({ kernel, info, serverVersion, cgroupVersion }) => {
      const issues: Issue[] = [];
      const minimum: [number, number] = cgroupVersion === '2' ? [5, 4] : [4, 19];
      if (kernel && older(kernel, minimum)) {
        issues.push({
          severity: 'medium',
          message: `kernel ${info.KernelVersion} is older than ${minimum.join('.')}${cgroupVersion === '2' ? ' (on cgroup v2)' : ''}: missing isolation features and container-related fixes`,
          fix: 'run a maintained distribution kernel (5.15 or later) and reboot into it',
        });
      }
      const engine = majorMinor(serverVersion);
      if (engine && older(engine, [20, 10])) {
        issues.push({
          severity: 'medium',
          message: `Docker Engine ${serverVersion} is older than 20.10 and unmaintained: known bugs and missing features (cgroup v2, rootless)`,
          fix: 'upgrade to a maintained Docker Engine release from the official repositories, with "live-restore": true',
        });
      }
      if (cgroupVersion === '1') {
        issues.push({
          severity: 'info',
          message: 'the host uses cgroup v1: weaker memory accounting and no PSI; current distributions default to v2',
          fix: 'move to cgroup v2 (systemd.unified_cgroup_hierarchy=1 on the kernel command line, or a current distribution)',
        });
      }
      return issues;
    },
  },
  {
    kbId: 'memory-accounting-overhead',
    what: 'cgroup v1 on a kernel older than 5.9 (info)',
    run: ({ kernel, cgroupVersion, info }) =>
      cgroupVersion === '1' && kernel && older(kernel, [5, 9])
        ? [{ severity: 'info', message: `cgroup v1 on kernel ${info.KernelVersion} (< 5.9): per-cgroup slab caches make memory accounting heavier and usage numbers misleading`, fix: 'read memory.current minus inactive_file, not raw usage; prefer a 5.9+ kernel on cgroup v2' }]
        : [],
  },
  {
    kbId: 'devicemapper-thin-pool',
    what: 'devicemapper storage driver (high with loop-lvm or under 20% data/metadata space)',
    run: ({ info, driverStatus }) => {
      if (info.Driver !== 'devicemapper') return [];
      const issues: Issue[] = [];
      const loop = driverStatus.has('data loop file') || driverStatus.has('metadata loop file');
      issues.push({
        severity: loop ? 'high' : 'medium',
        message: loop
          ? 'storage driver devicemapper in loop-lvm mode (loop files): slow, and it runs out of space without warning; not for production'
          : 'storage driver devicemapper: removed in Docker 25; its thin pool can fill up and stop every container',
        fix: 'migrate to overlay2 on ext4 or XFS with ftype=1 ("storage-driver": "overlay2" in daemon.json), then pull or load the images again',
      });
      for (const kind of ['Data', 'Metadata']) {
        const available = parseDmSize(driverStatus.get(`${kind.toLowerCase()} space available`));
        const total = parseDmSize(driverStatus.get(`${kind.toLowerCase()} space total`));
        if (available === undefined || !total || available / total >= 0.2) continue;
        issues.push({
          severity: 'high',
          message: `devicemapper ${kind.toLowerCase()} space is ${Math.round((available / total) * 100)}% free: when the thin pool is full, writes fail in every container`,
          fix: 'free space now (docker system prune -a) and extend the pool (lvextend), then migrate to overlay2',
        });
      }
      return issues;
    },
  },
  {
    kbId: 'overlay-dtype',
    what: 'overlay/overlay2 on a backing filesystem without d_type',
    run: ({ info, driverStatus }) =>
      /^overlay2?$/.test(info.Driver ?? '') && driverStatus.get('supports d_type') === 'false'
        ? [{ severity: 'high', message: `storage driver ${info.Driver} on a backing filesystem without d_type (${driverStatus.get('backing filesystem') ?? 'unknown'}): files vanish or cannot be removed in containers`, fix: 'put /var/lib/docker on ext4 or XFS created with mkfs.xfs -n ftype=1, then pull or load the images again' }]
        : [],
  },
  {
    kbId: 'restart-on-another-host',
    what: 'live-restore disabled (low; skipped in swarm mode, which does not support it)',
    run: ({ info }) =>
      info.LiveRestoreEnabled === false && info.Swarm?.LocalNodeState !== 'active'
        ? [{ severity: 'low', message: 'live-restore is disabled: restarting or upgrading dockerd stops every container', fix: 'set "live-restore": true in /etc/docker/daemon.json and reload dockerd (systemctl reload docker)' }]
        : [],
  },
  {
    kbId: 'swap-limit',
    what: 'daemon warns "No swap limit support"',
    run: ({ info }) =>
      (info.Warnings ?? []).some((w) => /no swap limit support/i.test(w)) || info.SwapLimit === false
        ? [{ severity: 'low', message: 'no swap limit support on this host: --memory-swap is ignored and containers can swap past their memory limit', fix: 'boot with cgroup_enable=memory swapaccount=1 (cgroup v1) or move to cgroup v2' }]
        : [],
  },
  {
    kbId: 'blkio-limits',
    what: 'daemon warns that blkio weight or throttling is not supported',
    run: ({ info }) => {
      const warnings = (info.Warnings ?? []).filter((w) => /no blkio/i.test(w));
      return warnings.length > 0
        ? [{ severity: 'low', message: `block I/O limits are silently discarded on this host (${warnings.map((w) => w.replace(/^WARNING:\s*/i, '')).join('; ')})`, fix: 'use cgroup v2 (io.max) and, for --blkio-weight, the BFQ scheduler; then set --device-write-bps on noisy writers' }]
        : [];
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Entry points

/** Every KB id a check can report (a test and the CLI check each one exists in the KB). */
export const CHECK_KB_IDS: readonly string[] = [...new Set([...CONTAINER_CHECKS, ...DAEMON_CHECKS].map((c) => c.kbId))];

/** The checks, in words, for documentation: scope, KB id and condition. */
export const CHECK_CATALOGUE: readonly { scope: 'container' | 'daemon'; kbId: string; what: string }[] = [
  ...CONTAINER_CHECKS.map((c) => ({ scope: 'container' as const, kbId: c.kbId, what: c.what })),
  ...DAEMON_CHECKS.map((c) => ({ scope: 'daemon' as const, kbId: c.kbId, what: c.what })),
];


/** Most severe first, then by KB id (stable output). */
function sortFindings(findings: Finding[]): Finding[] {
  return findings.sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || a.kbId.localeCompare(b.kbId));
}

/** The container a finding is about: full id, name without the leading slash, image as configured. */
export function findingContainer(c: ContainerInspect): FindingContainer {
  return { id: c.Id, name: (c.Name ?? '').replace(/^\//, '') || c.Id.slice(0, 12), image: c.Config?.Image ?? '' };
}

/**
 * The fine print one container is exposed to, from its inspect result (with `SizeRw` when inspected
 * with `size: true`; without it the writable-layer check is skipped) and the daemon's `info`.
 * Pure: the collector can call it on every container `start`.
 */
export function auditContainer(inspect: ContainerInspect, info: DaemonInfo, options: AuditOptions = {}): Finding[] {
  const container = findingContainer(inspect);
  const ctx: ContainerContext = {
    c: inspect,
    info,
    name: container.name,
    image: container.image,
    imageWords: imageWords(container.image),
    imagePathWords: imagePathWords(container.image),
    argv: commandOf(inspect),
    envNames: envNamesOf(inspect.Config?.Env),
    options: { rwLayerThresholdBytes: options.rwLayerThresholdBytes ?? DEFAULT_RW_LAYER_THRESHOLD, now: options.now ?? Date.now() },
  };
  const findings = CONTAINER_CHECKS.flatMap((check) => check.run(ctx).map((issue) => ({ container, kbId: check.kbId, ...issue })));
  return sortFindings(findings);
}

/** Daemon-level fine print (`container: null`) from `docker info` and, when available, `docker version`. */
export function auditDaemon(info: DaemonInfo, version?: DaemonVersion): Finding[] {
  const serverVersion = version?.Version || info.ServerVersion || '';
  const driverStatus = new Map<string, string>();
  for (const pair of info.DriverStatus ?? []) {
    const [key, value] = pair;
    if (typeof key === 'string' && typeof value === 'string') driverStatus.set(key.trim().toLowerCase(), value.trim().toLowerCase());
  }
  const ctx: DaemonContext = {
    info,
    version,
    serverVersion,
    kernel: majorMinor(info.KernelVersion ?? version?.KernelVersion),
    cgroupVersion: info.CgroupVersion ?? '',
    driverStatus,
  };
  const findings = DAEMON_CHECKS.flatMap((check) => check.run(ctx).map((issue) => ({ container: null, kbId: check.kbId, ...issue })));
  return sortFindings(findings);
}
