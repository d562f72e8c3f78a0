// The talk's own systems, for real: nginx, a PostgreSQL client, JVMs (with JMX), Elasticsearch and
// RabbitMQ run from Debian-built images (scripts/services/images.sh) on the test engine and fail the
// way the talk tells; fineprint must turn each into exactly one incident of the right KB entry, on the right
// container, with the entry's fix. Every container runs without a network; two that must talk
// share one network namespace (`--network container:<name>`), so their traffic stays on its loopback.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { containerLogs, removeContainers, runContainer, testDocker, waitFor } from '../support/docker.js';
import { execIn } from '../support/exec.js';
import { incidentDetail, incidentsOf, risksOf, startFineprint, type RunningFineprint } from '../support/fineprint.js';
import { onlyIncident } from '../support/scenarios.js';

const docker = testDocker();
const PREFIX = `fp-talk-${process.pid}-`;
const MB = 1024 * 1024;
const kb = loadKnowledgeBase();
const image = (name: string) => process.env[`FINEPRINT_TEST_IMAGE_${name.toUpperCase().replace(/-/g, '_')}`] ?? `fineprint-test/${name}:1`;
const RABBIT_VOLUME = `${PREFIX}rabbitmq-data`;
let fp: RunningFineprint;

/** nginx on 127.0.0.1:8080 proxying to 127.0.0.1:8081, errors on stderr (what the engine logs). */
const nginxProxy = (upstreamPort: number) => [
  'sh',
  '-c',
  `printf '%s' 'pid /tmp/nginx.pid; error_log /dev/stderr; events {} http { access_log off; server { listen 127.0.0.1:8080; location / { proxy_pass http://127.0.0.1:${upstreamPort}; } } }' > /tmp/nginx.conf && exec nginx -c /tmp/nginx.conf -g 'daemon off;'`,
];

/** A Java program run by the JDK's source launcher: fills 1 MB arrays until something gives. */
const JAVA_ALLOCATE = [
  'public class Allocate { public static void main(String[] args) {',
  '  java.util.List<byte[]> kept = new java.util.ArrayList<>();',
  '  for (int mb = 1; ; mb++) { byte[] b = new byte[1 << 20]; java.util.Arrays.fill(b, (byte) 1); kept.add(b);',
  '    if (mb % 32 == 0) System.out.println("holding " + mb + " MB"); } } }',
].join('\n');
const java = (jvmOptions: string) => ['sh', '-c', `printf '%s' '${JAVA_ALLOCATE}' > /tmp/Allocate.java && exec java ${jvmOptions} /tmp/Allocate.java`];

/**
 * JMX through NAT, on one loopback: the server binds its registry and RMI server to 127.0.0.1 but
 * advertises 127.0.0.2 in the stub (`java.rmi.server.hostname`), as a host behind NAT advertises an
 * address its clients cannot reach; the client gets the stub from the registry and fails on it.
 */
const JMX_SERVER = [
  'sh',
  '-c',
  "printf '%s' 'public class Serve { public static void main(String[] a) throws Exception { System.out.println(\"serving JMX\"); Thread.sleep(600000); } }' > /tmp/Serve.java && " +
    'exec java -Dcom.sun.management.jmxremote.port=9010 -Dcom.sun.management.jmxremote.rmi.port=9011 -Dcom.sun.management.jmxremote.host=127.0.0.1 ' +
    '-Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false -Djava.rmi.server.hostname=127.0.0.2 /tmp/Serve.java',
];
const JMX_CLIENT = [
  'sh',
  '-c',
  "printf '%s' 'public class Jmx { public static void main(String[] a) throws Exception { System.out.println(javax.management.remote.JMXConnectorFactory.connect(new javax.management.remote.JMXServiceURL(\"service:jmx:rmi:///jndi/rmi://127.0.0.1:9010/jmxrmi\")).getMBeanServerConnection().getMBeanCount()); } }' > /tmp/Jmx.java && exec java /tmp/Jmx.java",
];

/** The incident's page data carries the KB entry's own fix, step for step. */
async function expectKbFix(incidentId: string, kbId: string) {
  const detail = await incidentDetail(fp.url, incidentId);
  const entry = kb.entries.find((e) => e.id === kbId);
  expect(entry, `KB entry ${kbId}`).toBeDefined();
  expect(detail.kb?.fix).toEqual(entry?.fix);
  return detail;
}

beforeAll(async () => {
  await removeContainers(docker, PREFIX);
  fp = await startFineprint();
});

afterAll(async () => {
  await removeContainers(docker, PREFIX);
  await docker.getVolume(RABBIT_VOLUME).remove().catch(() => undefined);
  await fp?.stop();
});

describe("the talk's systems in real containers", () => {
  it('nginx whose upstream refuses is ONE upstream-unavailable incident, however many requests fail', async () => {
    const nginx = `${PREFIX}nginx-upstream`;
    await runContainer(docker, { name: nginx, image: image('nginx'), cmd: nginxProxy(8081) });
    // The client shares nginx's network namespace; it counts six 502s (nothing listens on 8081),
    // keeping wget's own output out of its log.
    const client = `${PREFIX}nginx-client`;
    await runContainer(docker, {
      name: client,
      shareNetworkWith: nginx,
      cmd: ['sh', '-c', 'n=0; while [ $n -lt 6 ]; do wget -q -O /dev/null http://127.0.0.1:8080/ 2>&1 | grep -q 502 && n=$((n+1)); sleep 0.2; done; echo done; sleep 300'],
    });
    const incident = await onlyIncident(fp.url, nginx, 'upstream-unavailable', 60_000);
    const detail = await expectKbFix(incident.id, 'upstream-unavailable');
    expect(detail.evidence.some((e) => /connect\(\) failed \(111: Connection refused\) while connecting to upstream/.test(e.message))).toBe(true);
    expect(await incidentsOf(fp.url, { container: client })).toEqual([]);
  });

  it('psql in a container without the server is ONE postgres-socket incident', async () => {
    const name = `${PREFIX}psql`;
    await runContainer(docker, { name, image: image('postgres-client'), cmd: ['psql', '-U', 'app'] });
    const incident = await onlyIncident(fp.url, name, 'postgres-socket');
    const detail = await expectKbFix(incident.id, 'postgres-socket');
    expect(detail.evidence.some((e) => e.message.includes('/var/run/postgresql/.s.PGSQL.5432'))).toBe(true);
  });

  it('a second nginx binding the port the first holds in one network namespace is ONE port-conflict incident', async () => {
    const first = `${PREFIX}nginx-first`;
    const second = `${PREFIX}nginx-second`;
    await runContainer(docker, { name: first, image: image('nginx'), cmd: nginxProxy(8081) });
    // Shares the first's namespace: both want 127.0.0.1:8080 there.
    await runContainer(docker, { name: second, image: image('nginx'), shareNetworkWith: first, cmd: nginxProxy(8081) });
    const incident = await onlyIncident(fp.url, second, 'port-conflict', 60_000);
    const detail = await expectKbFix(incident.id, 'port-conflict');
    expect(detail.evidence.some((e) => e.message.includes('(98: Address already in use)'))).toBe(true);
    expect(await incidentsOf(fp.url, { container: first })).toEqual([]);
  });

  it('a JVM whose -Xmx is above its container memory limit is OOM-killed: ONE jvm-heap incident, not a second oom-kill', async () => {
    const name = `${PREFIX}jvm-oom-killed`;
    // The kernel rate-limits its OOM reports: let earlier kills' window pass (see scenarios.ts).
    await new Promise((resolve) => setTimeout(resolve, 5500));
    await runContainer(docker, { name, image: image('jvm'), memory: 160 * MB, cmd: java('-Xmx1g') });
    // jvm-heap supersedes oom-kill when the killed process is java.
    const incident = await onlyIncident(fp.url, name, 'jvm-heap', 90_000);
    const detail = await expectKbFix(incident.id, 'jvm-heap');
    expect(detail.evidence.some((e) => e.kind === 'kernel' && /\(java\)|task=java,/.test(e.message))).toBe(true);
    // The facts read after the container died (its die may come after the kernel's report).
    await waitFor(async () => ((await incidentDetail(fp.url, incident.id)).facts?.state?.oomKilled ? true : undefined), 30_000, 'the facts of the killed JVM', 250);
  });

  it('a JVM with a small heap throwing OutOfMemoryError is ONE jvm-heap incident', async () => {
    const name = `${PREFIX}jvm-heap`;
    await runContainer(docker, { name, image: image('jvm'), cmd: java('-Xmx48m') });
    const incident = await onlyIncident(fp.url, name, 'jvm-heap', 90_000);
    const detail = await expectKbFix(incident.id, 'jvm-heap');
    expect(detail.evidence.some((e) => e.message.includes('java.lang.OutOfMemoryError: Java heap space'))).toBe(true);
    expect(detail.facts?.state?.oomKilled).toBe(false);
  });

  it('an Elasticsearch node whose seed hosts never answer is ONE cluster-discovery incident', async () => {
    const name = `${PREFIX}elasticsearch`;
    // Alone in its namespace: nothing listens on the seed port, and the master it waits for never
    // comes. Its hostname is localhost: Elasticsearch resolves its own, and without a network the
    // engine maps no other.
    const settings = ['node.name=es-lonely', 'discovery.seed_hosts=127.0.0.1:9399', 'cluster.initial_master_nodes=es-other', 'xpack.security.enabled=false'];
    const container = await runContainer(docker, {
      name,
      image: image('elasticsearch'),
      hostname: 'localhost',
      memory: 1024 * MB,
      cmd: ['/opt/elasticsearch/bin/elasticsearch', ...settings.flatMap((s) => ['-E', s])],
    });
    const incident = await waitFor(async () => (await incidentsOf(fp.url, { container: name })).find((i) => i.kbId === 'cluster-discovery'), 150_000, 'the cluster-discovery incident', 500);
    const detail = await expectKbFix(incident.id, 'cluster-discovery');
    expect(detail.evidence.some((e) => e.message.includes('master not discovered yet'))).toBe(true);
    // Its bootstrap checks also warn, each a fine print of its own, when the host's
    // vm.max_map_count (not namespaced) is below 262144 (host-sysctl-required) and when the engine
    // gives containers fewer than 65535 file descriptors (nofile-limit; the engine's own hard limit
    // caps --ulimit). Nothing else, and each once.
    const expected = ['cluster-discovery'];
    if (Number(readFileSync('/proc/sys/vm/max_map_count', 'utf8')) < 262_144) expected.push('host-sysctl-required');
    if (Number((await execIn(container, ['sh', '-c', 'ulimit -Hn'])).output.trim()) < 65_535) expected.push('nofile-limit');
    // The warning repeats every 10 s: once seen twice, it has merged into this incident.
    await waitFor(async () => ((await incidentDetail(fp.url, incident.id)).evidence.filter((e) => e.message.includes('master not discovered yet')).length >= 2 ? true : undefined), 60_000, 'the repeated warning', 500);
    const all = await incidentsOf(fp.url, { container: name });
    expect(all.map((i) => i.kbId).sort()).toEqual(expected.sort());
  }, 180_000);

  it('a JMX client handed an RMI stub with an address it cannot reach is ONE jmx-rmi-nat incident', async () => {
    const server = `${PREFIX}jmx-server`;
    const client = `${PREFIX}jmx-client`;
    const serving = await runContainer(docker, { name: server, image: image('jvm'), cmd: JMX_SERVER });
    await waitFor(async () => ((await containerLogs(serving)).stdout.includes('serving JMX') ? true : undefined), 60_000, 'the JMX server to start', 250);
    // The client shares the server's network namespace: the registry on 127.0.0.1:9010 answers.
    await runContainer(docker, { name: client, image: image('jvm'), shareNetworkWith: server, cmd: JMX_CLIENT });
    const incident = await onlyIncident(fp.url, client, 'jmx-rmi-nat', 60_000);
    const detail = await expectKbFix(incident.id, 'jmx-rmi-nat');
    expect(detail.evidence.some((e) => e.message.includes('java.rmi.ConnectException: Connection refused to host: 127.0.0.2; nested exception is:'))).toBe(true);
    expect(await incidentsOf(fp.url, { container: server })).toEqual([]);
  });

  it('RabbitMQ recreated on its volume under a new generated hostname loses its vhost: the risk before, ONE hostname-dependent-state incident naming the old node after', async () => {
    // The talk's first story: the node name, and with it the data directory, follows the hostname.
    const start = async (name: string) => {
      const container = await runContainer(docker, { name, image: image('rabbitmq'), binds: [`${RABBIT_VOLUME}:/var/lib/rabbitmq`], cmd: ['/usr/lib/rabbitmq/bin/rabbitmq-server'] });
      await waitFor(async () => ((await containerLogs(container)).stdout.includes('Server startup complete') ? true : undefined), 120_000, `${name} to start`, 500);
      return container;
    };
    const firstName = `${PREFIX}rabbitmq-1`;
    const first = await start(firstName);
    const firstHost = (await first.inspect()).Config.Hostname;
    expect(await execIn(first, ['rabbitmqctl', 'add_vhost', 'orders'])).toMatchObject({ exitCode: 0 });
    // Foreseeable: the audit of the running container names the generated hostname.
    const risk = await waitFor(async () => (await risksOf(fp.url, { container: firstName })).find((r) => r.kbId === 'hostname-dependent-state'), 30_000, `the hostname-dependent-state risk of ${firstName}`);
    expect(risk.message).toContain(firstHost);
    await first.remove({ force: true });
    // Which node used the volume must survive a restart of fineprint between the two containers.
    await fp.stop();
    fp = await startFineprint({}, fp.dataDir);

    const secondName = `${PREFIX}rabbitmq-2`;
    const second = await start(secondName);
    const secondHost = (await second.inspect()).Config.Hostname;
    expect(secondHost).not.toBe(firstHost);
    expect((await containerLogs(second)).stdout).toContain(`Node database directory at /var/lib/rabbitmq/mnesia/rabbit@${secondHost} is empty`);
    expect((await execIn(second, ['rabbitmqctl', '-q', 'list_vhosts'])).output).not.toContain('orders');
    expect((await execIn(second, ['ls', '/var/lib/rabbitmq/mnesia'])).output).toContain(`rabbit@${firstHost}`);
    await waitFor(async () => ((await risksOf(fp.url, { container: secondName })).some((r) => r.kbId === 'hostname-dependent-state') ? true : undefined), 30_000, `the risk of ${secondName}`);
    // Every fresh node logs that line, the first one too: only the second, on a volume the node of
    // another hostname used, is an incident, and it names the node whose data sits unused there.
    const incident = await onlyIncident(fp.url, secondName, 'hostname-dependent-state');
    const detail = await expectKbFix(incident.id, 'hostname-dependent-state');
    const [evidence] = detail.evidence;
    expect(evidence?.message).toContain(`rabbit@${secondHost} is empty`);
    expect(evidence?.note).toContain(`The volume ${RABBIT_VOLUME} at /var/lib/rabbitmq holds the data of node rabbit@${firstHost} (container ${firstName}`);
    expect(await incidentsOf(fp.url, { container: firstName })).toEqual([]);
  }, 240_000);
});
