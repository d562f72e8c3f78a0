import { describe, expect, it } from 'vitest';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { createLogger } from '../../shared/log.js';
import { MetricsRegistry, pipelineMetrics } from '../../shared/metrics.js';
import { compileKb, createClassifier, FactsCache, parseLine } from '../../services/classifier/index.js';
import type { Fixture } from '../../shared/kb/schema.js';
import { fixtureFacts, fromFixtureContainer } from '../support/fixture-container.js';

const kb = loadKnowledgeBase();
const compiled = compileKb(kb);

/** Runs fixture lines through the production parser, detectors and correlation; returns the KB ids filed. */
function filedBy(fixture: Fixture): Set<string> {
  const classifier = createClassifier({
    kb: compiled,
    facts: new FactsCache(),
    metrics: pipelineMetrics(new MetricsRegistry()),
    log: createLogger('test', 'silent'),
  });
  const ids = new Set<string>();
  classifier.classify(fixtureFacts(fixture));
  fixture.lines.forEach((line, index) => {
    const event = parseLine(line, fixture.format, { host: 'fixture', lineNumber: index + 1 });
    if (!event) throw new Error(`fixture line parses to nothing: ${line}`);
    for (const update of classifier.updatesFor(fromFixtureContainer(fixture, event))) if (update.op === 'signal') ids.add(update.kbId);
  });
  return ids;
}

describe('every shipped KB entry is proven by its fixtures through the production classifier', () => {
  for (const entry of kb.entries) {
    describe(entry.id, () => {
      if (entry.detectors.length === 0) {
        it('is served by the audit only: no detectors, no fixtures, and audit checks in words', () => {
          expect(entry.detection).toBe('audit');
          expect(entry.fixtures.positive).toEqual([]);
          expect(entry.audit?.length ?? 0).toBeGreaterThan(0);
        });
      }
      entry.fixtures.positive.forEach((fixture, index) => {
        it(`positive #${index + 1} (${fixture.origin.slice(0, 60)}) files ${entry.id}`, () => {
          expect([...filedBy(fixture)]).toContain(entry.id);
        });
      });
      entry.fixtures.negative.forEach((fixture, index) => {
        it(`negative #${index + 1} (${fixture.origin.slice(0, 60)}) files no ${entry.id}`, () => {
          expect([...filedBy(fixture)]).not.toContain(entry.id);
        });
      });
    });
  }
});

describe('benign kernel and log chatter matches no entry at all', () => {
  const benign = [
    '6,1201,5012345,-;IPv6: ADDRCONF(NETDEV_CHANGE): veth3f1c2a4: link becomes ready',
    '[ 1234.567890] docker0: port 1(veth3f1c2a4) entered forwarding state',
    '[ 1234.567891] docker0: port 1(veth3f1c2a4) entered disabled state',
    '[Fri Nov 27 10:00:00 2026] device veth3f1c2a4 entered promiscuous mode',
    'Nov 27 10:00:00 host kernel: [ 12.345] EXT4-fs (vda): mounted filesystem with ordered data mode. Opts: (null)',
    '6,99,1000,-;overlayfs: upper fs does not support RENAME_WHITEOUT.',
    '5,880,2000,-;audit: type=1400 audit(1700000000.123:45): apparmor="STATUS" operation="profile_load" name="docker-default"',
    '6,881,3000,-;nf_conntrack: default automatic helper assignment has been turned off for security reasons and CT-based firewall rule not found. Use the iptables CT target to attach helpers instead.',
    '6,882,4000,-;Bridge firewalling registered',
    'LOG:  listening on Unix socket "/var/run/postgresql/.s.PGSQL.5432"',
    'time="2026-11-27T10:00:00.000000000Z" level=info msg="Loading containers: done."',
    '{"status":"die","id":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","from":"busybox","Type":"container","Action":"die","Actor":{"ID":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","Attributes":{"exitCode":"0","image":"busybox","name":"job"}},"scope":"local","time":1764237600,"timeNano":1764237600123456789}',
    'web_1  | 172.18.0.1 - - [27/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 615 "-" "curl/8.5.0"',
    // Look-alikes of the catalogue entries (issue 3): benign lines that share their words.
    '2026-11-27T10:00:00.123456789Z container die 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef (exitCode=143, image=app:1.4, name=api)',
    '6,740,5123456,-;random: crng init done',
    '[    0.000000] SLUB: HWalign=64, Order=0-3, MinObjects=0, CPUs=8, Nodes=1',
    '6,320,1250000,-;device-mapper: uevent: version 1.0.3',
    '6,802,10123457,-;nf_conntrack version 0.5.0 (65536 buckets, 262144 max)',
    'time="2026-11-27T10:00:00.000000000Z" level=info msg="[graphdriver] using prior storage driver: overlay2"',
    'redis_1  | 1:M 27 Nov 2026 10:00:00.000 * Ready to accept connections tcp',
    '2026/11/27 10:00:00 [notice] 1#1: getrlimit(RLIMIT_NOFILE): 1048576:1048576',
    'nginx-1  | 2026/11/27 10:00:00 [notice] 1#1: gracefully shutting down',
    'fluentd-1  | 2026-11-27 10:00:00 +0000 [info]: #0 listening port port=24224 bind="0.0.0.0"',
    'time="2026-11-27T10:00:00.000000000Z" level=info msg="NetworkDB stats node-1(e96a082330cd) - netID:qr7lotpn87qukfehp4wlh3ucj leaving:false netPeers:3 entries:56 Queue qLen:0 netMsg/s:0"',
    'kafka-1  | [2026-11-27 10:00:00,000] INFO [KafkaServer id=1] started (kafka.server.KafkaServer)',
    'db-1  | 2026-11-27 10:00:00.000 UTC [1] LOG:  database system is ready to accept connections',
  ];
  for (const line of benign) {
    it(line.slice(0, 70), () => {
      expect([...filedBy({ lines: [line], format: 'auto', origin: 'benign' })]).toEqual([]);
    });
  }
});
