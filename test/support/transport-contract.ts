import { describe, expect, it, vi } from 'vitest';
import type { CollectorRecord } from '../../shared/event.js';
import type { InvalidRecord, RecordBatch, RecordSource, SourceHooks } from '../../shared/transport.js';

/** One transport as the contract drives it: producers write, consumers of one name (group) read. */
export interface TransportUnderTest {
  /** Writes records the way the collector does (durable once it resolves). */
  send(records: CollectorRecord[]): Promise<void>;
  /** Writes bodies as they are, past any validation: what a broken or hostile producer leaves behind. */
  sendRaw(bodies: string[]): Promise<void>;
  /** A new consumer under the same name: it starts after the offset its predecessors committed. */
  source(hooks: SourceHooks): RecordSource<CollectorRecord>;
  close(): Promise<void>;
}

const CONTAINER = 'c'.repeat(64);
const event = (id: string): CollectorRecord => ({
  type: 'event',
  event: { v: 1, id, host: 'contract-host', kind: 'docker', source: 'docker-events', ts: Date.UTC(2026, 11, 1), message: `container die ${id}`, container: { id: CONTAINER } },
});
const idOf = (record: CollectorRecord): string => (record.type === 'event' ? record.event.id : record.type);
const ids = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

/** A consumer that records what it was given; `handle` decides whether a batch's writes "succeed". */
function consume(transport: TransportUnderTest, handle: (batch: RecordBatch<CollectorRecord>) => Promise<void> = async () => undefined) {
  const batches: string[][] = [];
  const invalid: InvalidRecord[] = [];
  const retries: { attempt: number; delayMs: number }[] = [];
  const source = transport.source({
    onInvalid: async (records) => void invalid.push(...records),
    onError: (_error, retry) => void retries.push(retry),
  });
  const handler = async (batch: RecordBatch<CollectorRecord>) => {
    batches.push(batch.records.map(idOf));
    await handle(batch);
  };
  return { source, handler, batches, invalid, retries, seen: () => new Set(batches.flat()) };
}

/**
 * One delivery contract for every transport between the roles (the embedded queue, Kafka): at
 * least once, in order within a stream, invalid records rejected with a reason without blocking the
 * rest, a failed batch delivered again, offsets committed only once the handler's writes are done.
 */
export function transportContract(name: string, open: () => Promise<TransportUnderTest>, timeoutMs: number): void {
  const until = (condition: () => boolean, what: string) =>
    vi.waitFor(() => {
      if (!condition()) throw new Error(`waiting for ${what}`);
    }, { timeout: timeoutMs, interval: 50 });

  describe(`transport contract: ${name}`, () => {
    it('delivers every record written, intact and in the order written', async () => {
      const transport = await open();
      const sent = ids('order', 60);
      for (let i = 0; i < sent.length; i += 20) await transport.send(sent.slice(i, i + 20).map(event));
      const delivered: CollectorRecord[] = [];
      const consumer = consume(transport, async ({ records }) => void delivered.push(...records));
      try {
        await consumer.source.run(consumer.handler);
        await until(() => sent.every((id) => consumer.seen().has(id)), 'every record');
        const firstSeen = [...new Set(delivered.map(idOf))];
        expect(firstSeen).toEqual(sent);
        expect(delivered.find((r) => idOf(r) === 'order-7')).toEqual(event('order-7'));
        expect(consumer.invalid).toEqual([]);
      } finally {
        await consumer.source.stop();
        await transport.close();
      }
    });

    it('rejects invalid records with a reason each and delivers the records around them', async () => {
      const transport = await open();
      const negativeTime = JSON.stringify({ type: 'event', event: { ...(event('bad-time') as { event: object }).event, ts: -1 } });
      await transport.send([event('before')]);
      await transport.sendRaw(['{"type": "event", oops', negativeTime]);
      await transport.send([event('after')]);
      const consumer = consume(transport);
      try {
        await consumer.source.run(consumer.handler);
        await until(() => consumer.seen().has('after') && consumer.invalid.length >= 2, 'the record after the invalid ones');
        expect([...consumer.seen()]).toEqual(['before', 'after']);
        const [notJson, badTime] = consumer.invalid;
        expect(notJson?.reason).toMatch(/^not JSON: /);
        expect(notJson?.value?.toString('utf8')).toBe('{"type": "event", oops');
        expect(badTime?.reason).toMatch(/^event\.ts: /);
        expect(badTime?.value?.toString('utf8')).toBe(negativeTime);
        expect(new Set(consumer.invalid.map((r) => r.origin)).size).toBe(2);
      } finally {
        await consumer.source.stop();
        await transport.close();
      }
    });

    it('delivers a batch again after its handler failed, after a backoff, and reports the failure', async () => {
      const transport = await open();
      const sent = ids('retry', 3);
      await transport.send(sent.map(event));
      let failures = 0;
      const consumer = consume(transport, async () => {
        if (failures < 2) {
          failures += 1;
          throw new Error('store unavailable');
        }
      });
      try {
        await consumer.source.run(consumer.handler);
        await until(() => consumer.batches.length >= 3, 'the third delivery');
        const [first, second, third] = consumer.batches;
        expect(second).toEqual(first);
        expect(third).toEqual(first);
        expect(first).toEqual(sent);
        expect(consumer.retries.map((r) => r.attempt)).toEqual([0, 1]);
        // Jittered exponential backoff: 250-500 ms, then 500-1000 ms.
        expect(consumer.retries[0]?.delayMs).toBeGreaterThanOrEqual(250);
        expect(consumer.retries[0]?.delayMs).toBeLessThanOrEqual(500);
        expect(consumer.retries[1]?.delayMs).toBeGreaterThanOrEqual(500);
        expect(consumer.retries[1]?.delayMs).toBeLessThanOrEqual(1000);
      } finally {
        await consumer.source.stop();
        await transport.close();
      }
    });

    it('commits an offset only after the handler resolved: a new consumer gets what was not handled, not what was', async () => {
      const transport = await open();
      await transport.send(ids('handled', 2).map(event));
      const first = consume(transport);
      const failing = consume(transport, async () => {
        throw new Error('store unavailable');
      });
      const next = consume(transport);
      try {
        await first.source.run(first.handler);
        await until(() => first.seen().has('handled-1'), 'the first records handled');
        await first.source.stop();

        await transport.send(ids('failed', 2).map(event));
        await failing.source.run(failing.handler);
        await until(() => failing.retries.length >= 1, 'a failed delivery');
        await failing.source.stop();
        expect([...failing.seen()]).toEqual(['failed-0', 'failed-1']);

        await next.source.run(next.handler);
        await until(() => next.seen().has('failed-1'), 'the records whose handler failed, again');
        expect([...next.seen()]).toEqual(['failed-0', 'failed-1']);
      } finally {
        await first.source.stop();
        await failing.source.stop();
        await next.source.stop();
        await transport.close();
      }
    });
  });
}
