import type { NormalizedEvent } from '../../shared/event.js';
import { NormalizedEvent as NormalizedEventSchema, RECORD_VERSION } from '../../shared/event.js';
import type { LineFormat } from '../../shared/kb/schema.js';
import { containerIdsInCgroupPaths } from '../collector/kmsg-record.js';

/**
 * Turns a pasted line (kernel ring buffer, syslog, dockerd logs, container logs, Docker events) into
 * the normalized event the collector would have produced, so `fineprint classify` and the KB
 * fixtures go through the same detectors as live data.
 */
export interface ParseContext {
  host: string;
  /** Used for the event id (`classify:<n>`). */
  lineNumber: number;
}

type Parsed = Omit<NormalizedEvent, 'v' | 'id' | 'host' | 'source' | 'ts'> & { ts?: number };

const KMSG = /^(\d{1,3}),(\d+),(\d+),[^;]*;(.*)$/;
const DMESG_LEVEL_PREFIX = /^(?:kern|user|mail|daemon|auth|syslog|lpr|news)\s*:\s*(?:emerg|alert|crit|err|warn|notice|info|debug)\s*:\s*/;
const DMESG_SECONDS = /^\[\s*(\d+\.\d+)\]\s?(.*)$/;
const DMESG_HUMAN = /^\[([A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4})\]\s?(.*)$/;
const SYSLOG =
  /^([A-Z][a-z]{2}\s+\d{1,2}\s+\d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)\s+(\S+)\s+([\w./@-]+?)(?:\[(\d+)\])?:\s?(.*)$/;
const LOGRUS = /^time="([^"]+)"\s+level=(\w+)\s+msg="((?:[^"\\]|\\.)*)"\s*(.*)$/;
const EVENT_TEXT =
  /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))\s+(container|image|network|volume|daemon|plugin|service|node|secret|config)\s+(.+?)\s+([0-9a-f]{64}|[0-9a-f]{12}|\S+)\s+\((.*)\)$/;
const COMPOSE_EXITED = /^([\w.-]+?)\s+exited with code (\d+)$/;
const COMPOSE_PREFIX = /^([\w.-]+?[-_]\d+)\s+\|\s?(.*)$/;
const DOCKER_LOG_TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)\s(.*)$/;

const unescapeLogrus = (text: string): string => text.replace(/\\(["\\])/g, '$1').replace(/\\n/g, '\n').replace(/\\t/g, '\t');

function kernel(message: string, extra: Partial<NonNullable<NormalizedEvent['kernel']>> = {}): Parsed {
  const ids = containerIdsInCgroupPaths(message);
  return {
    kind: 'kernel',
    message,
    kernel: { ...extra, ...(ids.length > 0 ? { cgroupIds: ids } : {}) },
    ...(ids.length === 1 ? { container: { id: ids[0] as string } } : {}),
  };
}

function parseKernelLine(line: string): Parsed | undefined {
  const kmsg = KMSG.exec(line);
  if (kmsg) {
    const prio = Number(kmsg[1]);
    return kernel(kmsg[4] as string, { seq: Number(kmsg[2]), level: prio & 7, facility: prio >> 3 });
  }
  const body = line.replace(DMESG_LEVEL_PREFIX, '');
  const dmesg = DMESG_SECONDS.exec(body) ?? DMESG_HUMAN.exec(body);
  if (dmesg) return kernel(dmesg[2] as string);
  return undefined;
}

function parseLogrus(line: string): Parsed | undefined {
  const m = LOGRUS.exec(line);
  if (!m) return undefined;
  const rest = m[4] ? ` ${unescapeLogrus(m[4])}` : '';
  const ts = Date.parse(m[1] as string);
  return { kind: 'log', log: { stream: 'daemon' }, message: `${unescapeLogrus(m[3] as string)}${rest}`, ...(Number.isNaN(ts) ? {} : { ts }) };
}

function parseSyslog(line: string): Parsed | undefined {
  const m = SYSLOG.exec(line);
  if (!m) return undefined;
  const program = m[3] as string;
  const message = m[5] as string;
  if (program === 'kernel') return parseKernelLine(message) ?? kernel(message);
  if (/^(dockerd|containerd|docker)$/.test(program)) return parseLogrus(message) ?? { kind: 'log', log: { stream: 'daemon' }, message };
  return { kind: 'log', log: { stream: 'file' }, message };
}

function attributesOf(text: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const pair of text.split(/, (?=[\w.\-/]+=)/)) {
    const eq = pair.indexOf('=');
    if (eq > 0) attributes[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return attributes;
}

function dockerEvent(type: string, action: string, id: string, attributes: Record<string, string>, ts?: number): Parsed {
  const exitCode = attributes.exitCode !== undefined ? Number(attributes.exitCode) : undefined;
  const shown = Object.entries(attributes).map(([k, v]) => `${k}=${v}`).join(', ');
  return {
    kind: 'docker',
    message: `${type} ${action} ${id} (${shown})`,
    docker: { type, action, attributes },
    ...(type === 'container' && /^[0-9a-f]{12,64}$/.test(id)
      ? { container: { id, ...(attributes.name ? { name: attributes.name } : {}), ...(attributes.image ? { image: attributes.image } : {}) } }
      : {}),
    ...(exitCode !== undefined && Number.isInteger(exitCode) ? { exitCode } : {}),
    ...(ts !== undefined ? { ts } : {}),
  };
}

function parseJson(line: string): object | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const raw: unknown = JSON.parse(line);
    return typeof raw === 'object' && raw !== null ? raw : undefined;
  } catch {
    return undefined;
  }
}

/** fineprint's own normalized records (e.g. host-probe readings copied from a topic or the API). */
function parseRecordJson(line: string): Parsed | undefined {
  const raw = parseJson(line);
  if (!raw || !('v' in raw) || !('kind' in raw)) return undefined;
  const result = NormalizedEventSchema.safeParse(raw);
  if (!result.success) return undefined;
  const { v: _v, id: _id, host: _host, source: _source, ...rest } = result.data;
  return rest;
}

function parseDockerEventJson(line: string): Parsed | undefined {
  const raw = parseJson(line);
  if (!raw) return undefined;
  const e = raw as { Type?: unknown; Action?: unknown; status?: unknown; id?: unknown; Actor?: { ID?: unknown; Attributes?: unknown }; time?: unknown };
  const action = typeof e.Action === 'string' ? e.Action : typeof e.status === 'string' ? e.status : undefined;
  if (!action) return undefined;
  const type = typeof e.Type === 'string' ? e.Type : 'container';
  const id = typeof e.Actor?.ID === 'string' ? e.Actor.ID : typeof e.id === 'string' ? e.id : '';
  const attributes: Record<string, string> = {};
  if (typeof e.Actor?.Attributes === 'object' && e.Actor.Attributes !== null) {
    for (const [k, v] of Object.entries(e.Actor.Attributes)) attributes[k] = String(v);
  }
  return dockerEvent(type, action, id, attributes, typeof e.time === 'number' ? e.time * 1000 : undefined);
}

function parseDockerEventText(line: string): Parsed | undefined {
  const m = EVENT_TEXT.exec(line);
  if (!m) return undefined;
  return dockerEvent(m[2] as string, m[3] as string, m[4] as string, attributesOf(m[5] as string), Date.parse(m[1] as string));
}

function parseDockerLog(line: string): Parsed {
  const exited = COMPOSE_EXITED.exec(line);
  if (exited) {
    const code = exited[2] as string;
    return { kind: 'docker', message: line, docker: { type: 'container', action: 'die', attributes: { name: exited[1] as string, exitCode: code } }, exitCode: Number(code) };
  }
  const prefixed = COMPOSE_PREFIX.exec(line);
  const body = prefixed ? (prefixed[2] as string) : line;
  const stamped = DOCKER_LOG_TIMESTAMP.exec(body);
  const message = stamped ? (stamped[2] as string) : body;
  return {
    kind: 'log',
    log: { stream: 'stdout' },
    message,
    ...(stamped ? { ts: Date.parse(stamped[1] as string) } : {}),
  };
}

const PARSERS: Record<Exclude<LineFormat, 'auto'>, (line: string) => Parsed> = {
  kmsg: (line) => parseKernelLine(line) ?? kernel(line),
  dmesg: (line) => parseKernelLine(line) ?? kernel(line),
  syslog: (line) => parseSyslog(line) ?? kernel(line),
  'docker-event': (line) => parseRecordJson(line) ?? parseDockerEventJson(line) ?? parseDockerEventText(line) ?? parseDockerLog(line),
  'docker-log': (line) => parseLogrus(line) ?? parseDockerLog(line),
  log: (line) => parseLogrus(line) ?? { kind: 'log', log: { stream: 'file' }, message: line },
};

function parseAuto(line: string): Parsed {
  return (
    parseRecordJson(line) ??
    parseDockerEventJson(line) ??
    parseDockerEventText(line) ??
    parseKernelLine(line) ??
    parseSyslog(line) ??
    parseLogrus(line) ??
    parseDockerLog(line)
  );
}

/** Parses one line; blank lines give undefined. */
export function parseLine(line: string, format: LineFormat, context: ParseContext): NormalizedEvent | undefined {
  const text = line.replace(/\r$/, '');
  if (text.trim() === '') return undefined;
  const parsed = format === 'auto' ? parseAuto(text) : PARSERS[format](text);
  return {
    v: RECORD_VERSION,
    id: `classify:${context.lineNumber}`,
    host: context.host,
    source: 'classify',
    ...parsed,
    // Fixtures and pasted lines keep their order even without timestamps: one ms apart.
    ts: parsed.ts !== undefined && !Number.isNaN(parsed.ts) ? parsed.ts : context.lineNumber,
    message: parsed.message.slice(0, 16384),
  };
}
