// `fineprint notify test RECEIVER`: one test notification through a receiver of the notification
// config (FINEPRINT_NOTIFY_CONFIG), rendered and sent the way real ones are, and the receiver's answer.
import { parseArgs } from 'node:util';
import { commonConfig, loadConfig } from '../../shared/config.js';
import { FineprintError } from '../../shared/errors.js';
import { apiConfig } from '../api/config.js';
import { loadNotifyConfig } from '../api/notify/config.js';
import { sendOnce, sinkOf } from '../api/notify/deliver.js';
import type { Notification } from '../api/notify/grouping.js';

/** Settings `fineprint notify test` reads (docs/configuration.md). */
export const notifyTestConfig = {
  ...commonConfig,
  FINEPRINT_NOTIFY_CONFIG: apiConfig.FINEPRINT_NOTIFY_CONFIG,
  FINEPRINT_PUBLIC_URL: apiConfig.FINEPRINT_PUBLIC_URL,
};

export const NOTIFY_USAGE = `Usage: fineprint notify test RECEIVER

Sends one test notification ("fineprint test notification", severity info) through RECEIVER, a
receiver named in the notification config (FINEPRINT_NOTIFY_CONFIG), and prints what it answered.
Exit 0 when the receiver accepted it (2xx), 1 when it refused it or did not answer.`;

/** The id, KB id and alert name of the test notification's one incident. */
export const TEST_NOTIFICATION_ID = 'fineprint-test';

function testNotification(receiver: string, publicUrl: string, host: string, now: number): Notification {
  const at = new Date(now).toISOString();
  const title = 'fineprint test notification';
  const text = `A test sent with \`fineprint notify test ${receiver}\`: this receiver gets fineprint's notifications. Nothing is wrong.`;
  return {
    version: 1,
    event: 'trigger',
    receiver,
    group: { labels: { kb: TEST_NOTIFICATION_ID }, episode: TEST_NOTIFICATION_ID },
    title,
    counts: { open: 1, acknowledged: 0, resolved: 0 },
    incidents: [
      {
        id: TEST_NOTIFICATION_ID,
        kbId: TEST_NOTIFICATION_ID,
        title,
        severity: 'info',
        status: 'open',
        host,
        container: null,
        compose: null,
        count: 1,
        reopened: 0,
        firstSeen: at,
        lastSeen: at,
        message: text,
        summary: text,
        acknowledged: null,
        resolved: null,
        url: `${publicUrl.replace(/\/+$/, '')}/`,
        changed: true,
        consequences: [],
      },
    ],
    omitted: 0,
    kb: null,
    createdAt: at,
  };
}

/** `fineprint notify test RECEIVER`. */
export async function notifyCommand(args: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true });
  const [sub, name, ...extra] = positionals;
  if (sub !== 'test' || !name || extra.length > 0) throw new FineprintError('FP_BAD_REQUEST', `give one receiver name\n${NOTIFY_USAGE}`);
  const config = loadConfig(notifyTestConfig);
  if (!config.FINEPRINT_NOTIFY_CONFIG) throw new FineprintError('FP_CONFIG_INVALID', 'FINEPRINT_NOTIFY_CONFIG is not set: no receiver is configured (see docs on notifications)');
  const { receivers } = loadNotifyConfig(config.FINEPRINT_NOTIFY_CONFIG);
  const receiver = receivers.find((r) => r.name === name);
  if (!receiver) {
    const names = receivers.map((r) => r.name).join(', ') || 'none';
    throw new FineprintError('FP_CONFIG_INVALID', `no receiver "${name}" in ${config.FINEPRINT_NOTIFY_CONFIG} (receivers: ${names})`);
  }
  const now = Date.now();
  const body = sinkOf(receiver).render(testNotification(receiver.name, config.FINEPRINT_PUBLIC_URL ?? 'http://127.0.0.1:7777', config.FINEPRINT_HOST_NAME, now), receiver);
  // The origin only: the path of a Slack webhook URL is its secret.
  const where = `${receiver.name} (${receiver.type}, ${new URL(receiver.url).origin})`;
  try {
    const { res, text } = await sendOnce(receiver, body, now);
    const answer = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${text.trim() ? `: ${text.trim().slice(0, 500)}` : ''}`;
    out.write(`${res.ok ? 'sent' : 'refused'}: ${where} answered ${answer}\n`);
    return res.ok ? 0 : 1;
  } catch (error) {
    const e = error as Error;
    const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
    out.write(`not sent: ${where} ${timedOut ? `did not answer within ${receiver.timeout} ms` : `could not be reached: ${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ''}`}\n`);
    return 1;
  }
}
