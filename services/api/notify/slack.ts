import type { Receiver } from './config.js';
import type { Notification, NotifiedIncident } from './grouping.js';
import { clip, JSON_HEADERS, type Sink } from './sink.js';

/**
 * Slack incoming webhook: a Block Kit message (header, the incidents with container, host and a
 * link, why, fix). Within Slack's limits: 50 blocks, 150 characters of header, 3000 of section text.
 */
type SlackReceiver = Extract<Receiver, { type: 'slack' }>;

/** Incidents a message shows one by one; the rest are counted. */
const SHOWN = 10;

const EVENT_WORDS: Record<Notification['event'], string> = {
  trigger: 'FIRING',
  update: 'FIRING',
  acknowledge: 'ACKNOWLEDGED',
  resolve: 'RESOLVED',
};

/** Slack's mrkdwn treats &, < and > as control characters. */
const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const mrkdwn = (text: string) => ({ type: 'mrkdwn', text: clip(text, 3000) });

function incidentLine(i: NotifiedIncident): string {
  const where = i.container
    ? `container \`${escape(i.container.name)}\` (${escape(i.container.image)}) on \`${escape(i.host)}\``
    : `host \`${escape(i.host)}\``;
  const count = i.count > 1 ? `, ${i.count} occurrences` : '';
  const caused = i.consequences.length > 0 ? `\nCaused: ${i.consequences.slice(0, 5).map((c) => `<${c.url}|${escape(clip(c.title, 100))}>`).join(', ')}` : '';
  return `*<${i.url}|${escape(clip(i.title, 200))}>* ${i.status}${count}\n${where}\n${escape(clip(i.summary, 500))}${caused}`;
}

export const slackSink: Sink<SlackReceiver> = {
  render(n) {
    const blocks: unknown[] = [
      { type: 'header', text: { type: 'plain_text', text: clip(`${EVENT_WORDS[n.event]}: ${n.title}`, 150), emoji: true } },
      { type: 'section', text: mrkdwn(`*${n.counts.open}* open · *${n.counts.acknowledged}* acknowledged · *${n.counts.resolved}* resolved`) },
      ...n.incidents.slice(0, SHOWN).map((i) => ({ type: 'section', text: mrkdwn(incidentLine(i)) })),
    ];
    const more = n.incidents.length - SHOWN + n.omitted;
    if (more > 0) blocks.push({ type: 'context', elements: [mrkdwn(`and ${more} more`)] });
    if (n.kb) {
      blocks.push(
        { type: 'divider' },
        { type: 'section', text: mrkdwn(`*Why*\n${escape(n.kb.why)}`) },
        { type: 'section', text: mrkdwn(`*Fix*\n${n.kb.fix.map((f) => `• ${escape(f)}`).join('\n')}`) },
      );
    }
    blocks.push({ type: 'context', elements: [mrkdwn(`fineprint · \`${escape(n.kb?.id ?? n.incidents[0]?.kbId ?? '')}\` · ${n.event}`)] });
    // `text` is the fallback for notifications and clients without Block Kit.
    return JSON.stringify({ text: clip(`${EVENT_WORDS[n.event]}: ${n.title}`, 3000), blocks });
  },
  request: (receiver, body) => ({ url: receiver.url, headers: { ...JSON_HEADERS }, body }),
};
