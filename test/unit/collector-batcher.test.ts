import { describe, expect, it } from 'vitest';
import type { CollectorRecord } from '../../shared/event.js';
import { createLogger } from '../../shared/log.js';
import { metricValue, MetricsRegistry, pipelineMetrics } from '../../shared/metrics.js';
import { Batcher } from '../../services/collector/batcher.js';

const record = (n: number): CollectorRecord => ({
  type: 'event',
  event: { v: 1, id: `e${n}`, host: 'h', kind: 'probe', source: 'test', ts: n, message: `m${n}` },
});

describe('Batcher', () => {
  it('commits only after the records before the commit were sent, in order, retrying a failing sink', async () => {
    const log: string[] = [];
    let failures = 1;
    const metrics = pipelineMetrics(new MetricsRegistry());
    const batcher = new Batcher({
      sink: {
        async send(records) {
          if (failures-- > 0) throw new Error('sink down');
          log.push(`send ${records.map((r) => (r.type === 'event' ? r.event.id : '')).join(',')}`);
        },
      },
      log: createLogger('batcher-test', 'silent'),
      metrics,
      flushMs: 5,
      maxBatch: 2,
    });
    batcher.push(record(1));
    batcher.commit(() => log.push('commit 1'));
    batcher.push(record(2));
    batcher.push(record(3));
    batcher.commit(() => log.push('commit 3'));
    await batcher.close();
    expect(log).toEqual(['send e1,e2', 'commit 1', 'send e3', 'commit 3']);
    expect(await metricValue(metrics.errors, { stage: 'sending', error_type: 'sink_send_failed' })).toBe(1);
  });

  it('goes on after a commit that throws (a cursor not saved on a full disk)', async () => {
    const sent: string[] = [];
    const metrics = pipelineMetrics(new MetricsRegistry());
    const batcher = new Batcher({
      sink: { send: async (records) => void sent.push(...records.map((r) => (r.type === 'event' ? r.event.id : ''))) },
      log: createLogger('batcher-test', 'silent'),
      metrics,
      flushMs: 5,
    });
    let committed = false;
    batcher.push(record(1));
    batcher.commit(() => {
      throw new Error('database or disk is full');
    });
    batcher.push(record(2));
    batcher.commit(() => (committed = true));
    await batcher.close();
    expect(sent).toEqual(['e1', 'e2']);
    expect(committed).toBe(true);
    expect(await metricValue(metrics.errors, { stage: 'sending', error_type: 'cursor_save_failed' })).toBe(1);
  });
});
