import { defineConfig } from 'vitest/config';

// Four projects: fast unit tests run in parallel; e2e tests share one real Docker engine (and the
// host's /dev/kmsg), so their files run one at a time with generous timeouts; integration tests
// talk to the real Kafka and Elasticsearch (scripts/services/), one file at a time too, alongside
// the unit tests; fault tests (test/faults/) break those services on purpose. Every project names
// its group: vitest runs a project without parallel files after all groups, so only explicit groups
// keep the faults last.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          fileParallelism: false,
          sequence: { groupOrder: 2 },
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          // Fault injection (npm run test:faults): stops and kills real services and processes, so
          // one file at a time; minutes-long outages need generous timeouts.
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 600_000,
          // After every other project: the others use the services these tests stop.
          sequence: { groupOrder: 3 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          fileParallelism: false,
          // With the unit tests: they use no service, these wait on Kafka and Elasticsearch.
          sequence: { groupOrder: 0 },
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
