import type { Admin } from 'kafkajs';

/**
 * Versioned topics: a breaking change of a record format gets a new topic (`.v2`), so old and new
 * services can run side by side during an upgrade.
 */
export interface Topics {
  /** Collector records (events and container facts), keyed by host + container. */
  events: string;
  /** Incident updates from the classifier, keyed like the events they come from. */
  incidents: string;
  /** Risk records (the audit's findings) from the collectors to the risk store, keyed by host + container. */
  risks: string;
  /** Records that failed validation, with the reason in a header; nothing else reads them. */
  deadLetter: string;
}

export function topicNames(prefix: string): Topics {
  return { events: `${prefix}.events.v1`, incidents: `${prefix}.incidents.v1`, risks: `${prefix}.risks.v1`, deadLetter: `${prefix}.dead-letter.v1` };
}

export interface TopicSettings {
  partitions: number;
  /** How long records are kept (ms); replays and restarts read back within this. */
  retentionMs: number;
}

/** Creates the topics with explicit partitions and retention when they do not exist yet. */
export async function ensureTopics(admin: Admin, topics: Topics, settings: TopicSettings): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = Object.values(topics).filter((t) => !existing.has(t));
  if (missing.length === 0) return;
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((topic) => ({
      topic,
      numPartitions: settings.partitions,
      replicationFactor: -1,
      configEntries: [
        { name: 'retention.ms', value: String(settings.retentionMs) },
        { name: 'cleanup.policy', value: 'delete' },
      ],
    })),
  });
}
