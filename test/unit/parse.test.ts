import { describe, expect, it } from 'vitest';
import { parseLine } from '../../services/classifier/index.js';

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
