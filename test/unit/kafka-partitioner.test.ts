import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { expect, it } from 'vitest';
import { rememberingPartitioner } from '../../shared/kafka/client.js';

it("puts every key on kafkajs' default partition, asked once or many times", () => {
  const partitions = (n: number): PartitionMetadata[] =>
    Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
  const remembering = rememberingPartitioner();
  const kafkajs = Partitioners.DefaultPartitioner();
  for (const n of [3, 6]) {
    for (let i = 0; i < 300; i += 1) {
      const args = { topic: 'events', partitionMetadata: partitions(n), message: { key: `host-a/${(i % 100).toString(16).padStart(64, 'b')}`, value: 'x' } };
      expect(remembering(args)).toBe(kafkajs(args));
    }
  }
});
