import { describe, expect, it } from 'vitest';
import { CompactJsonReader, EVENT_POLICY, INSPECT_POLICY, LIST_POLICY, type CompactLine } from '../../services/collector/compact-json.js';

const MIB = 1024 * 1024;

/** A `die` event as the daemon writes it (keys sorted, `<>&` escaped), with these labels. */
function dieEvent(labels: Record<string, string>, timeNano = '1795802713319133492'): string {
  const attributes = { exitCode: '3', image: 'busybox', name: 'web-1', ...labels };
  const sorted = Object.fromEntries(Object.keys(attributes).sort().map((k) => [k, attributes[k as keyof typeof attributes]]));
  const event = { status: 'die', id: 'a'.repeat(64), from: 'busybox', Type: 'container', Action: 'die', Actor: { ID: 'a'.repeat(64), Attributes: sorted }, scope: 'local', time: 1795802713 };
  return `${JSON.stringify(event).slice(0, -1)},"timeNano":${timeNano}}`.replace(/</g, '\\u003c');
}

function read(text: string, chunkSize: number, policy = EVENT_POLICY): CompactLine[] {
  const bytes = Buffer.from(text);
  const reader = new CompactJsonReader(policy);
  const lines: CompactLine[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) lines.push(...reader.push(bytes.subarray(i, i + chunkSize)));
  return [...lines, ...reader.end()];
}

function parsed(line: CompactLine | undefined): { Action: string; Actor: { ID: string; Attributes: Record<string, string> } } {
  if (!line || 'error' in line) throw new Error(`not an event: ${JSON.stringify(line)}`);
  return JSON.parse(line.json);
}

describe('DockerCompactLineReader', () => {
  it('passes ordinary events through unchanged, whatever the chunk boundaries', () => {
    const one = dieEvent({ 'com.example': 'a "quoted" <value> \\ with ☃ and \n' });
    const two = dieEvent({}, '1795802713319133493');
    for (const size of [1, 7, 64, 100_000]) {
      const lines = read(`${one}\n${two}\n`, size);
      expect(lines, `chunks of ${size}`).toEqual([{ json: one }, { json: two }]);
    }
  });

  it('keeps the event of a container with multi-megabyte labels, split across chunks: its id, action, time and attributes survive', () => {
    const text = dieEvent({ 'hostile.bearer': 'Bearer '.repeat((3 * MIB) / 7), 'hostile.password': 'password='.repeat(MIB / 9), 'zz.escaped': '<'.repeat(MIB) });
    expect(text.length).toBeGreaterThan(9 * MIB);
    for (const size of [4096, 65536]) {
      const lines = read(`${text}\n${dieEvent({})}\n`, size);
      expect(lines).toHaveLength(2);
      const line = lines[0] as { json: string };
      expect(line.json.length).toBeLessThan(256 * 1024);
      expect(/"timeNano":(\d+)/.exec(line.json)?.[1]).toBe('1795802713319133492');
      const event = parsed(line);
      expect(event.Action).toBe('die');
      expect(event.Actor.ID).toBe('a'.repeat(64));
      expect(event.Actor.Attributes).toMatchObject({ exitCode: '3', image: 'busybox', name: 'web-1' });
      // Cut where a character begins: an escape is never split.
      expect(event.Actor.Attributes['zz.escaped']).toMatch(/^<+$/);
      expect(event.Actor.Attributes['hostile.bearer']?.length).toBeGreaterThan(4096);
      expect(parsed(lines[1]).Actor.Attributes).toEqual({ exitCode: '3', image: 'busybox', name: 'web-1' });
    }
  });

  it('drops attributes past its budget but keeps those the pipeline reads, however many labels come first', () => {
    const labels = Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`a.label.${i}`, `value-${i}`]));
    const lines = read(`${dieEvent(labels)}\n`, 65536);
    const event = parsed(lines[0]);
    expect(event.Actor.Attributes).toMatchObject({ exitCode: '3', image: 'busybox', name: 'web-1', 'a.label.0': 'value-0' });
    expect(Object.keys(event.Actor.Attributes).length).toBeLessThan(20_000);
    expect((lines[0] as { json: string }).json.length).toBeLessThanOrEqual(1024 * 1024);
  });

  it('says a line is incomplete rather than guessing', () => {
    expect(read('{"Action":"die","Actor":{"ID":"x"\n', 10)).toEqual([{ error: 'an incomplete Docker JSON line' }]);
    expect(read('\n\n', 1)).toEqual([]);
  });
});

describe('CompactJsonReader: container inspects', () => {
  it('drops labels past its budget but keeps the compose labels and everything outside the labels', () => {
    const labels: Record<string, string> = { 'a.big': 'x'.repeat(3 * MIB), 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web' };
    for (let i = 0; i < 100_000; i += 1) labels[`b.label.${i}`] = 'y';
    const inspect = { Id: 'c'.repeat(64), Config: { Env: ['A=1'], Labels: labels, Image: 'busybox' }, HostConfig: { Memory: 1024, Labels: { 'not.the.path': 'kept' } } };
    const [line] = read(`${JSON.stringify(inspect)}\n`, 65536, INSPECT_POLICY);
    if (!line || 'error' in line) throw new Error(`not read: ${JSON.stringify(line)}`);
    expect(line.json.length).toBeLessThan(512 * 1024);
    const compact = JSON.parse(line.json);
    expect(compact.Config.Labels).toMatchObject({ 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web' });
    expect(compact.Config.Labels['a.big'].length).toBeGreaterThan(4096);
    expect(compact.Config.Labels['a.big'].length).toBeLessThan(32 * 1024);
    expect(compact).toMatchObject({ Id: 'c'.repeat(64), Config: { Env: ['A=1'], Image: 'busybox' }, HostConfig: { Memory: 1024, Labels: { 'not.the.path': 'kept' } } });
  });
});

describe('CompactJsonReader: container lists', () => {
  /** A summary as GET /containers/json lists it. */
  const summary = (i: number, labels: Record<string, string>) => ({ Id: `${i}`.padStart(64, '0'), Names: [`/c-${i}`], Image: 'busybox', State: 'running', Labels: labels, Mounts: [] });

  it('keeps every container of a list with megabyte labels, each label cut, the labels past the budget dropped', () => {
    const hostile = { 'hostile.password': 'password='.repeat(MIB / 9), 'hostile.bearer': 'Bearer '.repeat(MIB / 7) };
    const list = Array.from({ length: 40 }, (_, i) => summary(i, hostile));
    const [line] = read(JSON.stringify(list), 65536, LIST_POLICY);
    if (!line || 'error' in line) throw new Error(`not read: ${JSON.stringify(line)}`);
    expect(line.json.length).toBeLessThan(512 * 1024);
    const compact = JSON.parse(line.json) as ReturnType<typeof summary>[];
    expect(compact.map((c) => [c.Id, c.Names, c.Image, c.State])).toEqual(list.map((c) => [c.Id, c.Names, c.Image, c.State]));
    expect(compact[0]?.Labels['hostile.bearer']?.length).toBeLessThan(32 * 1024);
    expect(compact.at(-1)?.Labels).toEqual({});
  });

  it('reads a list of thousands of ordinary containers, past the bound of one event', () => {
    const list = Array.from({ length: 10_000 }, (_, i) => summary(i, { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': `web-${i}` }));
    const text = JSON.stringify(list);
    expect(text.length).toBeGreaterThan(2 * MIB);
    const [line] = read(text, 65536, LIST_POLICY);
    if (!line || 'error' in line) throw new Error(`not read: ${JSON.stringify(line)}`);
    expect((JSON.parse(line.json) as unknown[]).map((c) => (c as { Id: string }).Id)).toEqual(list.map((c) => c.Id));
  });
});
