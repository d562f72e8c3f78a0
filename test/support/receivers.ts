// Local HTTP receivers on loopback standing in for Slack, PagerDuty, a webhook endpoint and an
// Alertmanager webhook receiver. Each validates what arrives against the provider's documented
// format, answers 400 to an invalid payload (as Slack and PagerDuty do), can fail (5xx) or hang on
// demand, and records every arrival with its time (what the notification benchmarks read).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** `alertmanager`: what Alertmanager's webhook_configs post; `alertmanager-api`: a stand-in for its POST /api/v2/alerts. */
export type ReceiverKind = 'slack' | 'pagerduty' | 'webhook' | 'alertmanager' | 'alertmanager-api';

export interface Arrival {
  /** When the request body was complete (ms since the epoch). */
  at: number;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: unknown;
  /** Why the payload does not follow the documented format; empty when it does. */
  problems: string[];
  /** The status answered. */
  status: number;
}

export interface TestReceiver {
  kind: ReceiverKind;
  /** Base URL, e.g. http://127.0.0.1:PORT/hook. */
  url: string;
  port: number;
  /** Every request, in arrival order. */
  arrivals: Arrival[];
  /** Requests answered 2xx. */
  accepted(): Arrival[];
  /** Answer this status (e.g. 503) to every request until set back to null. */
  failWith(status: number | null): void;
  /** Hold every request this long before answering (null: answer at once). */
  hang(ms: number | null): void;
  close(): Promise<void>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Slack Block Kit, as an incoming webhook takes it (docs.slack.dev/reference/block-kit). */
function validateSlack(json: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(json)) return ['body is not a JSON object'];
  if (typeof json.text !== 'string' || json.text.length === 0) problems.push('text: a fallback text is required with blocks');
  const blocks = json.blocks;
  if (!Array.isArray(blocks) || blocks.length === 0) return [...problems, 'blocks: a non-empty array is required'];
  if (blocks.length > 50) problems.push(`blocks: ${blocks.length} blocks, at most 50`);
  const textObject = (t: unknown, where: string, types: string[], max: number): void => {
    if (!isObject(t)) return void problems.push(`${where}: a text object is required`);
    if (typeof t.type !== 'string' || !types.includes(t.type)) problems.push(`${where}.type: ${String(t.type)} is not ${types.join(' or ')}`);
    if (typeof t.text !== 'string' || t.text.length === 0) problems.push(`${where}.text: required`);
    else if (t.text.length > max) problems.push(`${where}.text: ${t.text.length} characters, at most ${max}`);
  };
  blocks.forEach((block, i) => {
    const where = `blocks[${i}]`;
    if (!isObject(block)) return void problems.push(`${where}: not an object`);
    switch (block.type) {
      case 'header':
        textObject(block.text, `${where}.text`, ['plain_text'], 150);
        break;
      case 'section':
        if (block.text === undefined && block.fields === undefined) problems.push(`${where}: text or fields required`);
        if (block.text !== undefined) textObject(block.text, `${where}.text`, ['plain_text', 'mrkdwn'], 3000);
        break;
      case 'context': {
        const elements = block.elements;
        if (!Array.isArray(elements) || elements.length === 0 || elements.length > 10) problems.push(`${where}.elements: 1 to 10 elements`);
        else elements.forEach((e, j) => textObject(e, `${where}.elements[${j}]`, ['plain_text', 'mrkdwn'], 3000));
        break;
      }
      case 'divider':
        break;
      default:
        problems.push(`${where}.type: unexpected block type ${String(block.type)}`);
    }
  });
  return problems;
}

/** PagerDuty Events API v2 (developer.pagerduty.com, "Send an Alert Event"). */
function validatePagerDuty(json: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(json)) return ['body is not a JSON object'];
  if (typeof json.routing_key !== 'string' || json.routing_key.length !== 32) problems.push('routing_key: the 32-character integration key is required');
  if (!['trigger', 'acknowledge', 'resolve'].includes(json.event_action as string)) problems.push(`event_action: ${String(json.event_action)} is not trigger, acknowledge or resolve`);
  if (json.dedup_key !== undefined && (typeof json.dedup_key !== 'string' || json.dedup_key.length === 0 || json.dedup_key.length > 255)) problems.push('dedup_key: 1 to 255 characters');
  if (json.event_action !== 'trigger') {
    if (typeof json.dedup_key !== 'string') problems.push('dedup_key: required to acknowledge or resolve');
    return problems;
  }
  const p = json.payload;
  if (!isObject(p)) return [...problems, 'payload: required for trigger'];
  if (typeof p.summary !== 'string' || p.summary.length === 0 || p.summary.length > 1024) problems.push('payload.summary: 1 to 1024 characters');
  if (typeof p.source !== 'string' || p.source.length === 0) problems.push('payload.source: required');
  if (!['critical', 'error', 'warning', 'info'].includes(p.severity as string)) problems.push(`payload.severity: ${String(p.severity)} is not critical, error, warning or info`);
  if (p.timestamp !== undefined && Number.isNaN(Date.parse(p.timestamp as string))) problems.push('payload.timestamp: ISO 8601');
  if (json.links !== undefined && (!Array.isArray(json.links) || json.links.some((l) => !isObject(l) || typeof l.href !== 'string'))) problems.push('links: [{href, text}]');
  return problems;
}

/** fineprint's webhook: the JSON body and signature scheme of docs/notifications.md. */
function validateWebhook(headers: IncomingHttpHeaders, body: string, secret: string): string[] {
  const problems: string[] = [];
  const timestamp = headers['x-fineprint-timestamp'];
  const signature = headers['x-fineprint-signature'];
  if (typeof timestamp !== 'string' || !/^\d+$/.test(timestamp)) problems.push('X-Fineprint-Timestamp: unix seconds required');
  else if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) problems.push('X-Fineprint-Timestamp: older than 5 minutes');
  if (typeof signature !== 'string') problems.push('X-Fineprint-Signature: required');
  else {
    const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${String(timestamp)}.${body}`).digest('hex')}`);
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) problems.push('X-Fineprint-Signature: does not verify');
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return [...problems, 'body is not JSON'];
  }
  if (!isObject(json)) return [...problems, 'body is not a JSON object'];
  if (json.version !== 1) problems.push('version: 1');
  if (json.kind === 'risk-digest') {
    // A route of kind risk: one host's current risks (docs/notifications.md).
    if (typeof json.host !== 'string' || typeof json.title !== 'string') problems.push('host and title: required');
    if (!Array.isArray(json.risks) || json.risks.length === 0) problems.push('risks: a non-empty array');
    else if (json.risks.some((r) => !isObject(r) || typeof r.kbId !== 'string' || typeof r.fix !== 'string' || typeof r.severity !== 'string')) problems.push('risks[]: kbId, severity and fix');
    return problems;
  }
  if (!['trigger', 'update', 'acknowledge', 'resolve'].includes(json.event as string)) problems.push('event: trigger, update, acknowledge or resolve');
  if (typeof json.title !== 'string' || json.title.length === 0) problems.push('title: required');
  if (!Array.isArray(json.incidents) || json.incidents.length === 0) problems.push('incidents: a non-empty array');
  else if (json.incidents.some((i) => !isObject(i) || typeof i.id !== 'string' || typeof i.url !== 'string' || typeof i.status !== 'string')) problems.push('incidents[]: id, url and status');
  return problems;
}

/** Alertmanager's webhook receiver payload, version 4. */
function validateAlertmanagerWebhook(json: unknown): string[] {
  if (!isObject(json)) return ['body is not a JSON object'];
  const problems: string[] = [];
  if (json.version !== '4') problems.push('version: "4"');
  if (!['firing', 'resolved'].includes(json.status as string)) problems.push('status: firing or resolved');
  if (!Array.isArray(json.alerts)) problems.push('alerts: an array');
  return problems;
}

/** Alertmanager's `POST /api/v2/alerts` body (its OpenAPI spec, postableAlerts). */
function validateAlertmanagerAlerts(json: unknown): string[] {
  if (!Array.isArray(json)) return ['body: an array of alerts'];
  const problems: string[] = [];
  const time = (v: unknown) => v === undefined || (typeof v === 'string' && !Number.isNaN(Date.parse(v)));
  json.forEach((a, i) => {
    if (!isObject(a) || !isObject(a.labels)) return void problems.push(`[${i}].labels: required`);
    if (Object.entries(a.labels).some(([k, v]) => !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k) || typeof v !== 'string')) problems.push(`[${i}].labels: names [a-zA-Z_][a-zA-Z0-9_]*, string values`);
    if (typeof a.labels.alertname !== 'string') problems.push(`[${i}].labels.alertname: required`);
    if (a.annotations !== undefined && (!isObject(a.annotations) || Object.values(a.annotations).some((v) => typeof v !== 'string'))) problems.push(`[${i}].annotations: string values`);
    if (!time(a.startsAt) || !time(a.endsAt)) problems.push(`[${i}]: startsAt/endsAt must be RFC 3339`);
  });
  return problems;
}

export interface ReceiverOptions {
  /** Webhook secret (kind webhook). */
  secret?: string;
  /** Fixed port (the Alertmanager's receiver port); default: any free one. */
  port?: number;
}

export async function startReceiver(kind: ReceiverKind, options: ReceiverOptions = {}): Promise<TestReceiver> {
  const arrivals: Arrival[] = [];
  let failStatus: number | null = null;
  let hangMs: number | null = null;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      let problems: string[];
      try {
        json = JSON.parse(body);
        problems =
          kind === 'slack'
            ? validateSlack(json)
            : kind === 'pagerduty'
              ? validatePagerDuty(json)
              : kind === 'webhook'
                ? validateWebhook(req.headers, body, options.secret ?? '')
                : kind === 'alertmanager'
                  ? validateAlertmanagerWebhook(json)
                  : validateAlertmanagerAlerts(json);
      } catch {
        problems = ['body is not JSON'];
      }
      if (req.method !== 'POST') problems.push(`method ${req.method}: POST expected`);
      const status = failStatus ?? (problems.length > 0 ? 400 : kind === 'pagerduty' ? 202 : 200);
      const arrival: Arrival = { at, path: req.url ?? '/', headers: req.headers, body, json, problems, status };
      arrivals.push(arrival);
      const answer = () => {
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(status < 300 ? { status: 'success', message: 'Event processed' } : { error: problems.join('; ') || 'failing on purpose' }));
      };
      if (hangMs !== null) setTimeout(answer, hangMs);
      else answer();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    kind,
    url: `http://127.0.0.1:${port}/${kind}`,
    port,
    arrivals,
    accepted: () => arrivals.filter((a) => a.status < 300),
    failWith: (status) => void (failStatus = status),
    hang: (ms) => void (hangMs = ms),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
