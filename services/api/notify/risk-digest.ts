import type { KnowledgeBase } from '../../../shared/kb/load.js';
import { severityRank } from '../../../shared/kb/schema.js';
import { emptySeverityCounts, RiskQuery, type Risk, type RiskStore, type SeverityCounts } from '../../../shared/risk.js';
import type { NotificationOutbox } from '../../../shared/notification.js';
import { DEFAULT_GROUP_WAIT_MS, type CompiledRoute, type Receiver } from './config.js';
import { clip } from './sink.js';

/**
 * Risks are a posture, not events: a route of `kind: risk` gets one digest per host a day (the
 * host's current risks that match the route), never one message per finding. Digests go through
 * the outbox like every notification (retries, rate limits, delivery states).
 */

/** A host's digest is queued at most this often per route and receiver. */
export const RISK_DIGEST_INTERVAL_MS = 86_400_000;
/** Risks a digest lists at most (most severe first); the rest are counted in `omitted`. */
const DIGEST_LISTED = 100;
/** How often the risks are read to find due digests. */
const CHECK_EVERY_MS = 60_000;

/** What a webhook receives for a risk digest (Slack gets it rendered as a message). */
export interface RiskDigest {
  version: 1;
  kind: 'risk-digest';
  receiver: string;
  host: string;
  /** One line for people, e.g. "12 risks on web-1". */
  title: string;
  counts: SeverityCounts;
  /** Most severe first; at most DIGEST_LISTED. */
  risks: Pick<Risk, 'container' | 'kbId' | 'severity' | 'message' | 'fix' | 'firstSeen'>[];
  omitted: number;
  /** The risks view of fineprint's page. */
  url: string;
  createdAt: string;
}

/** Slack's mrkdwn treats &, < and > as control characters. */
const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The stored request body of a digest for one receiver. */
function renderRiskDigest(digest: RiskDigest, receiver: Receiver): string {
  if (receiver.type !== 'slack') return JSON.stringify(digest);
  const line = (r: RiskDigest['risks'][number]) =>
    `*${r.severity}* \`${escape(r.container?.name ?? 'daemon')}\` ${escape(r.kbId)}: ${escape(clip(r.message, 300))}\nfix: ${escape(clip(r.fix, 300))}`;
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(`Risks: ${digest.title}`, 150), emoji: true } },
    ...digest.risks.slice(0, 40).map((r) => ({ type: 'section', text: { type: 'mrkdwn', text: clip(line(r), 3000) } })),
  ];
  const more = digest.risks.length - 40 + digest.omitted;
  if (more > 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `and ${more} more: <${digest.url}|all risks>` }] });
  return JSON.stringify({ text: clip(`Risks: ${digest.title}`, 3000), blocks });
}

export interface RiskDigestsOptions {
  outbox: NotificationOutbox;
  risks: RiskStore;
  routes: readonly CompiledRoute[];
  receivers: ReadonlyMap<string, Receiver>;
  kb: KnowledgeBase;
  /** The risks view, `<url>/#/risks`. */
  risksUrl: () => string;
}

/** Queues due digests; call it from the notifier's loop. */
export function createRiskDigests(options: RiskDigestsOptions): { queueDue(now: number): Promise<void> } {
  const { outbox, kb } = options;
  const routes = options.routes.filter((r) => r.kind === 'risk');
  const startedAt = Date.now();
  let checkedAt = 0;

  async function allRisks(): Promise<Risk[]> {
    const all: Risk[] = [];
    let cursor: string | undefined;
    do {
      const page = await options.risks.searchRisks(RiskQuery.parse({ limit: 500, ...(cursor ? { cursor } : {}) }));
      all.push(...page.risks);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return all;
  }

  return {
    async queueDue(now) {
      // A route's first digests wait its group_wait after start, for the collectors' start audits to land.
      const ready = routes.filter((r) => now - startedAt >= (r.group_wait ?? DEFAULT_GROUP_WAIT_MS.other));
      if (ready.length === 0 || now - checkedAt < CHECK_EVERY_MS) return;
      checkedAt = now;
      const byHost = new Map<string, Risk[]>();
      for (const risk of await allRisks()) byHost.set(risk.host, [...(byHost.get(risk.host) ?? []), risk]);
      for (const route of ready) {
        for (const [host, risks] of byHost) {
          const matching = risks
            .filter((r) => route.matches({ ...r, compose: null }, kb.byId.get(r.kbId)?.tags ?? []))
            .sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || (a.container?.name ?? '').localeCompare(b.container?.name ?? ''));
          if (matching.length === 0) continue;
          for (const name of route.receivers) {
            const receiver = options.receivers.get(name);
            if (!receiver) continue;
            const key = { route: route.index, receiver: name, host };
            const last = await outbox.digestQueuedAt(key);
            if (last !== undefined && now - last < RISK_DIGEST_INTERVAL_MS) continue;
            const counts = emptySeverityCounts();
            for (const r of matching) counts[r.severity] += 1;
            const digest: RiskDigest = {
              version: 1,
              kind: 'risk-digest',
              receiver: name,
              host,
              title: `${matching.length} risk${matching.length === 1 ? '' : 's'} on ${host}`,
              counts,
              risks: matching.slice(0, DIGEST_LISTED).map((r) => ({ container: r.container, kbId: r.kbId, severity: r.severity, message: r.message, fix: r.fix, firstSeen: r.firstSeen })),
              omitted: Math.max(0, matching.length - DIGEST_LISTED),
              url: options.risksUrl(),
              createdAt: new Date(now).toISOString(),
            };
            await outbox.enqueueDigest(key, receiver.type, renderRiskDigest(digest, receiver), now);
          }
        }
      }
    },
  };
}
