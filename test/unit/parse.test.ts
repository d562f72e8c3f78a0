import { describe, expect, it } from 'vitest';
import { parseLine } from '../../services/classifier/index.js';
import { recognizeLine } from '../../services/classifier/parse.js';
import { lineClassifier } from '../../services/cli/classify.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';

const ID = '3f1c2a4b5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708';
const at = (line: string, format: Parameters<typeof parseLine>[1] = 'auto') => parseLine(line, format, { host: 'h', lineNumber: 1 });

describe('parseLine recognises every format a user pastes', () => {
  it('raw /dev/kmsg records, with level, sequence and the memcg container', () => {
    const e = at(`6,4711,26034240339,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/docker/${ID},task_memcg=/docker/${ID},task=sh,pid=14760,uid=0`);
    expect(e).toMatchObject({ kind: 'kernel', kernel: { seq: 4711, level: 6, facility: 0 }, container: { id: ID } });
    expect(e?.message).toMatch(/^oom-kill:constraint/);
  });
  it('dmesg with seconds and with -T timestamps', () => {
    expect(at('[26034.240339] Memory cgroup out of memory: Kill process 14760 (mem-hogger) score 997 or sacrifice child')).toMatchObject({
      kind: 'kernel',
      message: 'Memory cgroup out of memory: Kill process 14760 (mem-hogger) score 997 or sacrifice child',
    });
    expect(at('[Fri Nov 27 10:00:00 2026] INFO: task jbd2/vda1-8:123 blocked for more than 120 seconds.')?.message).toBe(
      'INFO: task jbd2/vda1-8:123 blocked for more than 120 seconds.',
    );
  });
  it('syslog and journald kernel lines', () => {
    expect(at('Nov 27 10:00:00 node1 kernel: [ 5.1] nf_conntrack: table full, dropping packet')).toMatchObject({ kind: 'kernel', message: 'nf_conntrack: table full, dropping packet' });
    expect(at('2026-11-27T10:00:00+0000 node1 kernel: unregister_netdevice: waiting for lo to become free. Usage count = 1')).toMatchObject({ kind: 'kernel' });
  });
  it('dockerd logrus lines, directly and through syslog', () => {
    const direct = at('time="2026-11-27T10:00:00.123456789Z" level=info msg="Container 3f1c failed to exit within 2 seconds of signal 15 - using the force" container=3f1c');
    expect(direct).toMatchObject({ kind: 'log', log: { stream: 'daemon' } });
    expect(direct?.message).toContain('failed to exit within 2 seconds of signal 15');
    const viaSyslog = at('Nov 27 10:00:00 node1 dockerd[812]: time="2026-11-27T10:00:00Z" level=error msg="Handler for POST /containers/x/start returned error: port is already allocated"');
    expect(viaSyslog).toMatchObject({ kind: 'log', log: { stream: 'daemon' }, message: 'Handler for POST /containers/x/start returned error: port is already allocated' });
  });
  it('compose-prefixed container logs and "exited with code N"', () => {
    expect(at('web_1  | dd: error writing \'/data/x\': No space left on device')).toMatchObject({ kind: 'log', message: "dd: error writing '/data/x': No space left on device" });
    expect(at('web-1  | java.lang.OutOfMemoryError: Java heap space')?.message).toBe('java.lang.OutOfMemoryError: Java heap space');
    expect(at('web-1 exited with code 137')).toMatchObject({ kind: 'docker', docker: { action: 'die' }, exitCode: 137 });
  });
  it('Docker events as Engine API JSON and as `docker events` text', () => {
    const json = at(`{"status":"oom","id":"${ID}","from":"busybox","Type":"container","Action":"oom","Actor":{"ID":"${ID}","Attributes":{"image":"busybox","name":"hog"}},"scope":"local","time":1764237600,"timeNano":1764237600123456789}`);
    expect(json).toMatchObject({ kind: 'docker', docker: { action: 'oom' }, container: { id: ID, name: 'hog', image: 'busybox' }, ts: 1764237600000 });
    const text = at(`2026-11-27T10:00:00.123456789Z container health_status: unhealthy ${ID} (image=busybox, name=sick)`);
    expect(text).toMatchObject({ kind: 'docker', docker: { action: 'health_status: unhealthy', attributes: { name: 'sick' } } });
    const die = at(`2026-11-27T10:00:00.123456789Z container die ${ID} (exitCode=137, image=busybox, name=hog)`);
    expect(die).toMatchObject({ exitCode: 137, container: { name: 'hog' } });
  });
  it('blank lines give nothing; an explicit format is honoured', () => {
    expect(at('   ')).toBeUndefined();
    expect(at('6,1,2,-;plain words', 'log')).toMatchObject({ kind: 'log', message: '6,1,2,-;plain words' });
  });
});

const formatOf = (line: string) => recognizeLine(line, 'auto', { host: 'h', lineNumber: 1 })?.format;

describe('recognizeLine says which format it read', () => {
  const cases: [string, string, string][] = [
    ['kmsg record', '6,339,5140900,-;NET: Registered protocol family 10', 'kmsg'],
    ['dmesg seconds', '[ 1600.038458] INFO: task dockerd:3946 blocked for more than 120 seconds.', 'dmesg'],
    ['dmesg -T', '[Thu Dec  7 00:05:15 2017] Memory cgroup out of memory: Kill process 24572 (java) score 0 or sacrifice child', 'dmesg'],
    ['dmesg -T, French locale', '[mar. janv. 17 02:59:56 2023] kernel: microcode: microcode updated early to revision 0xf0', 'dmesg'],
    ['dmesg -T, Japanese locale', '[金 11月 27 10:00:00 2026] nf_conntrack: table full, dropping packet', 'dmesg'],
    ['dmesg --time-format iso', '2023-12-22T12:26:24,559615-08:00 device vethab20cf5 entered promiscuous mode', 'dmesg'],
    ['dmesg --time-format reltime', '[  +0.000012] nf_conntrack: table full, dropping packet', 'dmesg'],
    ['dmesg -x', 'kern  :err   : [ 5.1] nf_conntrack: table full, dropping packet', 'dmesg'],
    ['dmesg -r', '<6>[    1.234567] nf_conntrack: table full, dropping packet', 'dmesg'],
    ['syslog with host', 'May  8 14:05:27 doris-03 kernel: Memory cgroup out of memory: Kill process 24984 (palo_be) score 968 or sacrifice child', 'syslog'],
    ['syslog without host', 'Nov 27 10:00:00 kernel: [ 5.1] nf_conntrack: table full, dropping packet', 'syslog'],
    ['journalctl -o short-precise', 'Aug 30 06:58:55.050705 node1 kernel: nf_conntrack: table full, dropping packet', 'syslog'],
    ['journalctl -o short-iso', '2026-11-27T10:00:00+0000 node1 kernel: nf_conntrack: table full, dropping packet', 'syslog'],
    ['journalctl -o short-iso-precise', '2026-11-27T10:00:00.123456+00:00 node1 kernel: nf_conntrack: table full, dropping packet', 'syslog'],
    ['journalctl -o short-monotonic', '[ 5.123456] node1 kernel: nf_conntrack: table full, dropping packet', 'syslog'],
    ['journalctl -o short-full', 'Fri 2026-11-27 10:00:00 UTC node1 kernel: nf_conntrack: table full, dropping packet', 'syslog'],
    ['journalctl -o short-unix', '1764237600.123456 node1 kernel: nf_conntrack: table full, dropping packet', 'syslog'],
    ['rsyslog with a bracketed host', '2017-08-30T15:05:39.548964+10:00 [localhost] dockerd: time="2017-08-30T15:05:39Z" level=warning msg="port is already allocated"', 'syslog'],
    ['RFC 5424', '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com kernel - ID47 - nf_conntrack: table full, dropping packet', 'syslog'],
    ['RFC 3164 with PRI', '<4>Nov 27 10:00:00 node1 kernel: nf_conntrack: table full, dropping packet', 'syslog'],
    ['syslogd broadcast header', 'Message from syslogd@fnl9b at Mar 22 21:40:42 ...', 'syslog'],
    ['syslogd broadcast body', ' kernel:unregister_netdevice: waiting for lo to become free. Usage count = 1', 'syslog'],
    ['kernel: without a date', 'kernel: [ 12.5] nf_conntrack: table full, dropping packet', 'syslog'],
    ['dockerd in journald, header cut', 'dockerd[123]: time="2026-11-27T10:00:00Z" level=error msg="port is already allocated"', 'syslog'],
    ['journalctl -o json', '{"__CURSOR":"s=1","__REALTIME_TIMESTAMP":"1764237600123456","_TRANSPORT":"kernel","MESSAGE":"nf_conntrack: table full, dropping packet"}', 'journal-json'],
    ['Engine API event', `{"status":"oom","id":"${ID}","from":"busybox","time":1449497871}`, 'docker-event'],
    ['docker events text', `2026-11-27T10:00:00.123456789Z container oom ${ID} (image=busybox, name=hog)`, 'docker-event'],
    ['docker logs -t', '2026-11-27T10:00:00.123456789Z java.lang.OutOfMemoryError: Java heap space', 'docker-log'],
    ['compose v1', 'web_1  | java.lang.OutOfMemoryError: Java heap space', 'docker-log'],
    ['compose v2 with -t', 'web-1  | 2026-11-27T10:00:00.123456789Z java.lang.OutOfMemoryError: Java heap space', 'docker-log'],
    ['compose v2 in colour', '\u001b[36mweb-1  |\u001b[0m java.lang.OutOfMemoryError: Java heap space', 'docker-log'],
    ['json-file', '{"log":"java.lang.OutOfMemoryError: Java heap space\\n","stream":"stderr","time":"2026-11-27T10:00:00.123456789Z"}', 'docker-log'],
    ['CRI full line', '2026-11-27T10:00:00.123456789Z stderr F java.lang.OutOfMemoryError: Java heap space', 'cri'],
    ['CRI partial line with an offset', '2020-01-26T03:17:29.34649469+00:00 stdout P java.lang.OutOfMemoryError: Java heap space', 'cri'],
    ['dockerd logrus', 'time="2026-11-27T10:00:00Z" level=info msg="Daemon has completed initialization"', 'log'],
    ['bare kernel text', 'INFO: task kworker/u8:2:123 blocked for more than 120 seconds.', 'text'],
    ['journalctl -o cat', 'Memory cgroup out of memory: Killed process 4249 (python) total-vm:32812kB, anon-rss:23856kB, file-rss:1700kB', 'text'],
  ];
  for (const [name, line, format] of cases) {
    it(`${name}: ${format}`, () => {
      expect(formatOf(line)).toBe(format);
    });
  }

  it('takes the message out of its envelope', () => {
    const json = at('{"log":"java.lang.OutOfMemoryError: Java heap space\\n","stream":"stderr","time":"2026-11-27T10:00:00.123456789Z"}');
    expect(json).toMatchObject({ kind: 'log', log: { stream: 'stderr' }, message: 'java.lang.OutOfMemoryError: Java heap space', ts: Date.parse('2026-11-27T10:00:00.123Z') });
    expect(at('[Fr Nov 27 10:00:00 2026] kernel: nf_conntrack: table full, dropping packet')?.message).toBe('nf_conntrack: table full, dropping packet');
    expect(at('<165>1 2003-10-11T22:14:15.003Z host kernel - ID47 [exampleSDID@32473 iut="3"] \uFEFFnf_conntrack: table full')).toMatchObject({
      kind: 'kernel',
      message: 'nf_conntrack: table full',
    });
    const journald = at(`{"MESSAGE":"java.lang.OutOfMemoryError: Java heap space","CONTAINER_ID_FULL":"${ID}","CONTAINER_NAME":"api","PRIORITY":"3","_TRANSPORT":"journal"}`);
    expect(journald).toMatchObject({ kind: 'log', log: { stream: 'stderr' }, container: { id: ID, name: 'api' } });
    expect(at('{"MESSAGE":[104,105],"_TRANSPORT":"stdout"}')?.message).toBe('hi');
    expect(at('dockerd[123]: time="2026-11-27T10:00:00Z" level=error msg="port is already allocated"')).toMatchObject({ kind: 'log', log: { stream: 'daemon' }, message: 'port is already allocated' });
  });

  it('a forced format narrows: the line is read as that format only', () => {
    const line = 'INFO: task kworker/u8:2:123 blocked for more than 120 seconds.';
    expect(recognizeLine(line, 'kernel', { host: 'h', lineNumber: 1 })).toMatchObject({ format: 'kernel', event: { kind: 'kernel' } });
    expect(recognizeLine(line, 'log', { host: 'h', lineNumber: 1 })).toMatchObject({ format: 'log', event: { kind: 'log' } });
    expect(recognizeLine('kernel: [ 1.5] x', 'dmesg', { host: 'h', lineNumber: 1 })?.event).toMatchObject({ kind: 'kernel', message: 'x' });
  });

  it('a line of no format stays linear: 64 KiB shaped like each prefix parses', () => {
    const shapes = ['2026-11-27T10:00:00Z container ', 'web-1', 'Nov 27 10:00:00 ', '[', '<1>1 ', '{"log":', 'time="', '6,1,2,'];
    for (const shape of shapes) {
      const line = shape + 'a-1 ('.repeat(13_000);
      expect(recognizeLine(line, 'auto', { host: 'h', lineNumber: 1 })).toBeDefined();
    }
    const spaced = `2026-11-27T10:00:00.1Z container ${' x'.repeat(32_000)} (a=b)`;
    expect(recognizeLine(spaced, 'auto', { host: 'h', lineNumber: 1 })?.format).toBe('docker-event');
  });
});

describe('lineClassifier: what `fineprint classify` answers for a line', () => {
  const kb = loadKnowledgeBase();
  const auto = lineClassifier(kb, { format: 'auto', explain: true });

  it('a line of unknown origin reaches kernel and log detectors alike', () => {
    expect(auto('INFO: task kworker/u8:2:123 blocked for more than 120 seconds.', 1)).toMatchObject({ format: 'text', kb: ['hung-task'] });
    expect(auto('Memory cgroup out of memory: Killed process 123 (sh) total-vm:1kB', 2)).toMatchObject({ format: 'text', kb: ['oom-kill'] });
    expect(auto('Error: listen EADDRINUSE: address already in use :::3000', 3)).toMatchObject({ format: 'text', kb: ['port-conflict'] });
  });

  it('forcing a format keeps its precision: kernel text read as a log matches no kernel detector', () => {
    const asLog = lineClassifier(kb, { format: 'log' });
    expect(asLog('INFO: task kworker/u8:2:123 blocked for more than 120 seconds.', 1).kb).toEqual([]);
    expect(lineClassifier(kb, { format: 'kernel' })('INFO: task kworker/u8:2:123 blocked for more than 120 seconds.', 1).kb).toEqual(['hung-task']);
  });

  it('--explain names the detector and the text its regex matched', () => {
    const line = '[ 5.1] Memory cgroup out of memory: Killed process 123 (sh) total-vm:1kB';
    const [explained, ...others] = auto(line, 1).explain ?? [];
    expect(others).toEqual([]);
    expect(explained).toMatchObject({ kb: 'oom-kill', detector: 'kernel-memcg-oom-kill' });
    expect(explained?.matched).toMatch(/^Memory cgroup out of memory: Killed process 123 \(/);
    expect(line).toContain(explained?.matched);
    expect(auto(`{"status":"oom","id":"${ID}","from":"busybox","time":1449497871}`, 2).explain).toEqual([{ kb: 'oom-kill', detector: 'docker-oom-event' }]);
  });
});

