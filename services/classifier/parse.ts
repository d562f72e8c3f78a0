import type { NormalizedEvent } from '../../shared/event.js';
import { NormalizedEvent as NormalizedEventSchema, RECORD_VERSION } from '../../shared/event.js';
import type { LineFormat } from '../../shared/kb/schema.js';
import { containerIdsInCgroupPaths } from '../../shared/kmsg/record.js';

/**
 * Turns a pasted line (kernel ring buffer, syslog and journald in their many forms, dockerd logs,
 * container logs as Docker, compose and CRI runtimes write them, Docker events) into the normalized
 * event the collector would have produced, so `fineprint classify` and the KB fixtures go through
 * the same detectors as live data.
 */
export interface ParseContext {
  host: string;
  /** Used for the event id (`classify:<n>`). */
  lineNumber: number;
}

/**
 * The format a line was read as: the forced one, the one `auto` recognised, or `text` when no
 * prefix tells where the line comes from (journalctl -o cat, bare kernel or application text).
 */
export type DetectedFormat = Exclude<LineFormat, 'auto'> | 'text';

/** A parsed line and the format it was read as. */
export interface RecognizedLine {
  event: NormalizedEvent;
  format: DetectedFormat;
}

/**
 * What a line says, before the event gets its identity and time. The time stays as the line wrote
 * it (text, or ms) until the event is built: `fineprint classify` prints no time and never parses it.
 */
export type LineEvent = Omit<NormalizedEvent, 'v' | 'id' | 'host' | 'source' | 'ts'> & { time?: string | number };
type Parsed = LineEvent;
type Found = { format: DetectedFormat; parsed: Parsed };

const ISO_TIME = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)`;
const ISO_DATE = /^\d{4}-/;
const DMESG_LEVEL_PREFIX = /^(?:kern|user|mail|daemon|auth|syslog|lpr|news)\s*:\s*(?:emerg|alert|crit|err|warn|notice|info|debug)\s*:\s*/;
/** The first two characters of each facility of DMESG_LEVEL_PREFIX (as `code0 << 8 | code1`): other lines skip it. */
const FACILITY_STARTS = new Set(['ke', 'us', 'ma', 'da', 'au', 'sy', 'lp', 'ne'].map((f) => (f.charCodeAt(0) << 8) | f.charCodeAt(1)));
/** `dmesg -r`: the raw `<prio>` before the record. */
const DMESG_RAW_PRIO = /^<\d{1,3}>/;
/** `[ secs]`, `--show-delta` (`[ secs < delta>]`) and `--time-format reltime` deltas (`[  +0.000012]`). */
const DMESG_SECONDS = /^\[\s*\+?\d+\.\d+(?:\s*<\s*\d+\.\d+>)?\]\s?/;
/** `-T` / `ctime` in any locale (`[Fri Nov 27 10:00:00 2026]`, `[Fr Nov 27 ...]`, `[金 11月 27 ...]`) and reltime's `[Nov27 10:00]`. */
const DMESG_HUMAN = /^\[(?:[^\]]{1,40}? \d\d:\d\d:\d\d \d{4}|[^\]\s\d]{2,12}\d{1,2} \d\d:\d\d)\]\s?/;
/** `--time-format iso`: comma before the microseconds, always an offset. */
const DMESG_ISO = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d),(\d{6})([+-]\d\d:\d\d) /;
/** The tag of a kernel line in syslog without its header, and in a syslogd broadcast to terminals. */
const KERNEL_TAG = /^\s*kernel:\s?/;
const KERNEL_TAG_PREFIX = /^kernel: /;

const SYSLOG_PRIO = /^<\d{1,3}>(?=[A-Z\d])/;
/**
 * RFC 3164 and journalctl short forms: timestamp (BSD, with optional fraction as in short-precise;
 * ISO as in short-iso[-precise] and rsyslog; short-full's `Fri 2026-11-27 10:00:00 UTC`;
 * short-unix), an optional host (never with a colon, so `kernel:` is a tag; rsyslog may bracket
 * it), then `tag[pid]:`.
 */
const SYSLOG = new RegExp(
  String.raw`^([A-Z][a-z]{2}\s+\d{1,2}\s+\d\d:\d\d:\d\d(?:\.\d+)?|${ISO_TIME}|[A-Z][a-z]{2} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? [A-Z]{2,5}|\d{9,10}\.\d{6})\s+(?:(\[[^\]\s]+\]|[^\s:[\]]+)\s+)?([\w./@()-]+?)(?:\[\d+\])?:\s?`,
);
/** journalctl -o short-monotonic; unlike dmesg the host is there, and the tag is `kernel` or has a pid. */
const SYSLOG_MONOTONIC = /^\[\s*\d+\.\d+\]\s+[^\s:[\]]+\s+(?:(kernel)|([\w./@()-]+?)\[\d+\]):\s?/;
/** A line cut from its syslog header: `dockerd[812]: ...`. */
const SYSLOG_TAG_ONLY = /^([\w./@-]+?)\[\d+\]:\s?/;
const SYSLOG_BROADCAST = /^Message from syslogd@\S+ at /;
const RFC5424 = /^<\d{1,3}>1 (\S+) \S+ (\S+) \S+ \S+ (?:-|(?:\[(?:[^\]"]|"(?:[^"\\]|\\.)*")*\])+)(?: \uFEFF?|$)/;
const DAEMONS = /^(?:dockerd|containerd|docker)(?:-current)?$/;

/** logrus text lines; old dockerd quoted the level (`level="info"`). */
const LOGRUS = /^time="([^"]+)"\s+level="?(\w+)"?\s+msg="((?:[^"\\]|\\.)*)"\s*/;
/** `docker events` text: `<time> <type> <action> <id> (<attributes>)`; the rest is split by hand (linear). */
const EVENT_TEXT_PREFIX = new RegExp(String.raw`^(${ISO_TIME}) (container|image|network|volume|daemon|plugin|service|node|secret|config) `);
const COMPOSE_EXITED = /^([\w.-]+?)\s+exited with code (\d+)$/;
/** Compose v1 (`web_1  | `) and v2 (`web-1  | `). */
const COMPOSE_PREFIX = /^[\w.-]+?[-_]\d+\s+\|\s?/;
const DOCKER_LOG_TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)\s/;
/** `docker logs -t` always writes nine digits (RFC3339NanoFixed); syslog ISO stamps do not. */
const DOCKER_LOG_TIMESTAMP_FIXED = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z /;
const CRI = new RegExp(String.raw`^(${ISO_TIME}) (stdout|stderr) [FP](?: |$)`);
// eslint-disable-next-line no-control-regex -- terminal colour codes are what is being removed
const ANSI_ESCAPE = /\u001b\[[0-9;?]*[ -/]*[@-~]/g;

const LT = 0x3c;
const BRACKET = 0x5b;
const SPACE = 0x20;
const TAB = 0x09;
const K = 0x6b;
const M = 0x4d;
const isDigit = (code: number): boolean => code >= 0x30 && code <= 0x39;
const isUpper = (code: number): boolean => code >= 0x41 && code <= 0x5a;
/** Starts like `2026-`: CRI, `docker events` and `docker logs -t` lines all do, kmsg lines never. */
const isIsoDate = (line: string): boolean =>
  isDigit(line.charCodeAt(0)) && isDigit(line.charCodeAt(1)) && isDigit(line.charCodeAt(2)) && isDigit(line.charCodeAt(3)) && line.charCodeAt(4) === 0x2d;

const unescapeLogrus = (text: string): string =>
  text.includes('\\') ? text.replace(/\\(["\\])/g, '$1').replace(/\\n/g, '\n').replace(/\\t/g, '\t') : text;
/** The text after a prefix match: slicing is cheaper than a `(.*)$` group, and takes any character. */
const afterMatch = (text: string, match: RegExpExecArray): string => text.slice(match[0].length);
const parseTime = (text: string): number | undefined => {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
};
/** Sets the time (ms, or text to parse) on a freshly built event (no copy: one allocation less per line). */
const withTs = (parsed: Parsed, time: string | number | undefined): Parsed => {
  if (time !== undefined) parsed.time = time;
  return parsed;
};
const logLine = (message: string, stream: NonNullable<NormalizedEvent['log']>['stream']): Parsed => ({ kind: 'log', log: { stream }, message });

function kernel(message: string, extra: NonNullable<NormalizedEvent['kernel']> = {}): Parsed {
  const parsed: Parsed = { kind: 'kernel', message, kernel: extra };
  // Every cgroup path of a container names `docker/` or `docker-`: most kernel lines skip the search.
  const ids = message.includes('docker/') || message.includes('docker-') ? containerIdsInCgroupPaths(message) : [];
  if (ids.length > 0) extra.cgroupIds = ids;
  if (ids.length === 1) parsed.container = { id: ids[0] as string };
  return parsed;
}

/** A kernel record behind the prefix of /dev/kmsg or of dmesg (any timestamp style, `-x`, `-r`). */
function parseKernelLine(line: string): Found | undefined {
  // Each prefix starts with its own kind of character: most lines skip most regexes.
  const first = line.charCodeAt(0);
  if (isDigit(first)) {
    const kmsg = kmsgHeader(line);
    if (kmsg) return { format: 'kmsg', parsed: kernel(line.slice(kmsg.end), { seq: kmsg.seq, level: kmsg.prio & 7, facility: kmsg.prio >> 3 }) };
    const iso = DMESG_ISO.exec(line);
    if (iso) return { format: 'dmesg', parsed: withTs(kernel(afterMatch(line, iso)), `${iso[1]}.${iso[2]}${iso[3]}`) };
    return undefined;
  }
  const raw = first === LT ? DMESG_RAW_PRIO.exec(line) : null;
  const body = raw ? line.slice(raw[0].length) : FACILITY_STARTS.has((first << 8) | line.charCodeAt(1)) ? line.replace(DMESG_LEVEL_PREFIX, '') : line;
  const dmesg = body.charCodeAt(0) === BRACKET ? (DMESG_SECONDS.exec(body) ?? DMESG_HUMAN.exec(body)) : null;
  // dmesg --file on a saved log keeps syslog's `kernel:` tag after the timestamp.
  if (dmesg) return { format: 'dmesg', parsed: kernel(afterMatch(body, dmesg).replace(KERNEL_TAG_PREFIX, '')) };
  // `dmesg -r --notime`: the priority alone.
  if (raw) return { format: 'dmesg', parsed: kernel(body) };
  return undefined;
}

const COMMA = 0x2c;

/** The end of the run of digits from `from` (`from` itself when there is none). */
function digitsEnd(line: string, from: number): number {
  let i = from;
  while (isDigit(line.charCodeAt(i))) i += 1;
  return i;
}

/**
 * `/dev/kmsg`'s `prio,seq,usec,flags[,...];` header (prio of 1 to 3 digits), read by character:
 * the commonest kernel line costs no regex. `end` is where the message starts.
 */
function kmsgHeader(line: string): { prio: number; seq: number; end: number } | undefined {
  const prioEnd = digitsEnd(line, 0);
  if (prioEnd === 0 || prioEnd > 3 || line.charCodeAt(prioEnd) !== COMMA) return undefined;
  const seqEnd = digitsEnd(line, prioEnd + 1);
  if (seqEnd === prioEnd + 1 || line.charCodeAt(seqEnd) !== COMMA) return undefined;
  const usecEnd = digitsEnd(line, seqEnd + 1);
  if (usecEnd === seqEnd + 1 || line.charCodeAt(usecEnd) !== COMMA) return undefined;
  const semicolon = line.indexOf(';', usecEnd + 1);
  if (semicolon < 0) return undefined;
  return { prio: Number(line.slice(0, prioEnd)), seq: Number(line.slice(prioEnd + 1, seqEnd)), end: semicolon + 1 };
}

/** Kernel text with whatever prefix it carries (forced kernel formats accept them all). */
function kernelText(line: string): Parsed {
  const tagged = KERNEL_TAG.exec(line);
  const body = tagged ? afterMatch(line, tagged) : line;
  return parseKernelLine(body)?.parsed ?? kernel(body);
}

function parseLogrus(line: string): Parsed | undefined {
  const m = line.startsWith('time=') ? LOGRUS.exec(line) : null;
  if (!m) return undefined;
  const tail = afterMatch(line, m);
  const rest = tail ? ` ${unescapeLogrus(tail)}` : '';
  return withTs(logLine(`${unescapeLogrus(m[3] as string)}${rest}`, 'daemon'), m[1]);
}

/** What a syslog tag says about its message: the kernel's, a Docker daemon's, or some program's. */
function byProgram(program: string, message: string): Parsed {
  if (program === 'kernel') return kernelText(message);
  if (DAEMONS.test(program)) return parseLogrus(message) ?? logLine(message, 'daemon');
  return logLine(message, 'file');
}

function parseSyslog(line: string): Parsed | undefined {
  let text = line;
  if (line.charCodeAt(0) === LT) {
    const rfc5424 = RFC5424.exec(line);
    if (rfc5424) return withTs(byProgram(rfc5424[2] as string, afterMatch(line, rfc5424)), rfc5424[1]);
    text = line.replace(SYSLOG_PRIO, '');
  }
  const first = text.charCodeAt(0);
  const m = isDigit(first) || isUpper(first) ? SYSLOG.exec(text) : null;
  if (m) return withTs(byProgram(m[3] as string, afterMatch(text, m)), ISO_DATE.test(m[1] as string) ? m[1] : undefined);
  const monotonic = first === BRACKET ? SYSLOG_MONOTONIC.exec(text) : null;
  if (monotonic) return byProgram(monotonic[1] ?? (monotonic[2] as string), afterMatch(text, monotonic));
  const tagged = first === SPACE || first === TAB || first === K ? KERNEL_TAG.exec(text) : null;
  if (tagged) return kernelText(afterMatch(text, tagged));
  if (first === M && SYSLOG_BROADCAST.test(text)) return logLine(text, 'file');
  const open = text.indexOf('[');
  // A tag has no space: a line with one before its first `[` is no `tag[pid]:` line.
  const tagOnly = open > 0 && text.lastIndexOf(' ', open) < 0 ? SYSLOG_TAG_ONLY.exec(text) : null;
  if (tagOnly) return byProgram(tagOnly[1] as string, afterMatch(text, tagOnly));
  return undefined;
}

function attributesOf(text: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const pair of text.split(/, (?=[\w.\-/]+=)/)) {
    const eq = pair.indexOf('=');
    if (eq > 0) attributes[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return attributes;
}

const CONTAINER_ID = /^[0-9a-f]{12,64}$/;

function dockerEvent(type: string, action: string, id: string, attributes: Record<string, string>, time?: string | number): Parsed {
  let shown = '';
  for (const key in attributes) shown += `${shown ? ', ' : ''}${key}=${attributes[key]}`;
  const parsed: Parsed = { kind: 'docker', message: `${type} ${action} ${id} (${shown})`, docker: { type, action, attributes } };
  if (type === 'container' && CONTAINER_ID.test(id)) {
    const container: NonNullable<Parsed['container']> = { id };
    if (attributes.name) container.name = attributes.name;
    if (attributes.image) container.image = attributes.image;
    parsed.container = container;
  }
  const exitCode = attributes.exitCode !== undefined ? Number(attributes.exitCode) : NaN;
  if (Number.isInteger(exitCode)) parsed.exitCode = exitCode;
  return withTs(parsed, time);
}

type JsonObject = Record<string, unknown>;

function parseJson(line: string): JsonObject | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const raw: unknown = JSON.parse(line);
    return typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

/** fineprint's own normalized records (e.g. host-probe readings copied from a topic or the API). */
function fromRecordJson(raw: JsonObject): Parsed | undefined {
  if (!('v' in raw) || !('kind' in raw)) return undefined;
  const result = NormalizedEventSchema.safeParse(raw);
  if (!result.success) return undefined;
  const { v: _v, id: _id, host: _host, source: _source, ts, ...rest } = result.data;
  return withTs(rest, ts);
}

function fromDockerEventJson(raw: JsonObject): Parsed | undefined {
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

/** Docker's json-file driver (and Kubernetes nodes on Docker): `{"log":"...\n","stream":"stderr","time":"..."}`. */
function fromJsonFile(raw: JsonObject): Parsed | undefined {
  if (typeof raw.log !== 'string' || !('stream' in raw || 'time' in raw)) return undefined;
  const message = raw.log.replace(/\r?\n$/, '');
  return withTs(logLine(message, raw.stream === 'stderr' ? 'stderr' : 'stdout'), typeof raw.time === 'string' ? raw.time : undefined);
}

/** journalctl -o json: MESSAGE (a string, or bytes when not UTF-8) and the trusted fields. */
function fromJournalJson(raw: JsonObject): Parsed | undefined {
  if (!('MESSAGE' in raw) || !('__CURSOR' in raw || '_TRANSPORT' in raw || 'SYSLOG_IDENTIFIER' in raw || '__REALTIME_TIMESTAMP' in raw)) {
    return undefined;
  }
  const value = raw.MESSAGE;
  const message =
    typeof value === 'string'
      ? value
      : Array.isArray(value) && value.every((b) => typeof b === 'number')
        ? Buffer.from(value as number[]).toString('utf8')
        : '';
  const micros = typeof raw.__REALTIME_TIMESTAMP === 'string' ? Number(raw.__REALTIME_TIMESTAMP) : NaN;
  const ts = Number.isFinite(micros) ? Math.floor(micros / 1000) : undefined;
  if (raw._TRANSPORT === 'kernel') return withTs(kernelText(message), ts);
  const program = typeof raw.SYSLOG_IDENTIFIER === 'string' ? raw.SYSLOG_IDENTIFIER : typeof raw._COMM === 'string' ? raw._COMM : '';
  const containerId = typeof raw.CONTAINER_ID_FULL === 'string' ? raw.CONTAINER_ID_FULL : raw.CONTAINER_ID;
  if (typeof containerId === 'string' && CONTAINER_ID.test(containerId)) {
    // Docker's journald log driver: the container's own output.
    const name = typeof raw.CONTAINER_NAME === 'string' ? { name: raw.CONTAINER_NAME } : {};
    const stream = raw.PRIORITY === '3' ? 'stderr' : 'stdout';
    return withTs({ ...logLine(message, stream), container: { id: containerId, ...name } }, ts);
  }
  return withTs(byProgram(program, message), ts);
}

function parseJsonLine(line: string): Found | undefined {
  const raw = parseJson(line);
  if (!raw) return undefined;
  const event = fromRecordJson(raw) ?? fromDockerEventJson(raw);
  if (event) return { format: 'docker-event', parsed: event };
  const jsonFile = fromJsonFile(raw);
  if (jsonFile) return { format: 'docker-log', parsed: jsonFile };
  const journal = fromJournalJson(raw);
  if (journal) return { format: 'journal-json', parsed: journal };
  return undefined;
}

function parseDockerEventText(line: string): Parsed | undefined {
  if (!line.endsWith(')')) return undefined;
  const m = EVENT_TEXT_PREFIX.exec(line);
  if (!m) return undefined;
  const rest = line.slice(m[0].length);
  // The attributes open at the first " (": the token before it is the id, the words before that the action.
  const open = rest.indexOf(' (');
  const head = rest.slice(0, Math.max(0, open)).trimEnd();
  const space = head.lastIndexOf(' ');
  if (open < 0 || space <= 0) return undefined;
  const action = head.slice(0, space).trim();
  return dockerEvent(m[2] as string, action, head.slice(space + 1), attributesOf(rest.slice(open + 2, -1)), m[1]);
}

function parseCri(line: string): Parsed | undefined {
  const m = CRI.exec(line);
  if (!m) return undefined;
  return withTs(logLine(afterMatch(line, m), m[2] as 'stdout' | 'stderr'), m[1]);
}

/** `docker logs -t` and compose output (with or without -t), and compose's "exited with code N". */
function parseDockerLog(line: string): Parsed | undefined {
  const exited = line.includes(' exited with code ') ? COMPOSE_EXITED.exec(line) : null;
  if (exited) {
    const code = exited[2] as string;
    return { kind: 'docker', message: line, docker: { type: 'container', action: 'die', attributes: { name: exited[1] as string, exitCode: code } }, exitCode: Number(code) };
  }
  const prefixed = COMPOSE_PREFIX.exec(line);
  const body = prefixed ? afterMatch(line, prefixed) : line;
  const stamped = isDigit(body.charCodeAt(0)) ? DOCKER_LOG_TIMESTAMP.exec(body) : null;
  if (!prefixed && !stamped) return undefined;
  return withTs(logLine(stamped ? afterMatch(body, stamped) : body, 'stdout'), stamped?.[1]);
}

const asText = (line: string): Parsed => logLine(line, 'file');

const PARSERS: Record<Exclude<LineFormat, 'auto'>, (line: string) => Parsed> = {
  kmsg: kernelText,
  dmesg: kernelText,
  kernel: kernelText,
  syslog: (line) => parseSyslog(line) ?? kernelText(line),
  'journal-json': (line) => {
    const raw = parseJson(line);
    return (raw && fromJournalJson(raw)) ?? asText(line);
  },
  'docker-event': (line) => {
    const raw = parseJson(line);
    return (raw && (fromRecordJson(raw) ?? fromDockerEventJson(raw))) ?? parseDockerEventText(line) ?? parseDockerLog(line) ?? asText(line);
  },
  'docker-log': (line) => {
    const raw = parseJson(line);
    return (raw && fromJsonFile(raw)) ?? parseLogrus(line) ?? parseDockerLog(line) ?? logLine(line, 'stdout');
  },
  cri: (line) => parseCri(line) ?? logLine(line, 'stdout'),
  log: (line) => parseLogrus(line) ?? asText(line),
};

const found = (format: DetectedFormat, parsed: Parsed | undefined): Found | undefined => (parsed ? { format, parsed } : undefined);

/** Recognises a line by its prefix, most specific first; `text` when no prefix tells. */
function parseAuto(line: string): Found {
  const first = line.charCodeAt(0);
  if (first === 0x7b /* { */) {
    const json = parseJsonLine(line);
    if (json) return json;
  }
  if (first === BRACKET && SYSLOG_MONOTONIC.test(line)) {
    // journalctl -o short-monotonic, before dmesg's `[ secs]`.
    const syslog = found('syslog', parseSyslog(line));
    if (syslog) return syslog;
  }
  if (first === LT) {
    // RFC 5424 and RFC 3164 with their <PRI>, before `dmesg -r`'s <prio>.
    const syslog = found('syslog', parseSyslog(line));
    if (syslog) return syslog;
  }
  if (isIsoDate(line)) {
    const early =
      found('cri', parseCri(line)) ??
      found('docker-event', parseDockerEventText(line)) ??
      (DOCKER_LOG_TIMESTAMP_FIXED.test(line) ? found('docker-log', parseDockerLog(line)) : undefined);
    if (early) return early;
  }
  return (
    parseKernelLine(line) ??
    found('syslog', parseSyslog(line)) ??
    found('log', parseLogrus(line)) ??
    found('docker-log', parseDockerLog(line)) ?? { format: 'text', parsed: asText(line) }
  );
}

/** The source of events parsed from pasted lines (`fineprint classify`, KB fixtures). */
export const PASTED_SOURCE = 'classify';

/** Longest message kept of a line. */
const MAX_MESSAGE = 16384;

/**
 * Reads one line for matching: the format it was read as and what it says, time unparsed and no
 * identity (what `fineprint classify` needs of most lines); blank lines give undefined.
 */
export function readLine(line: string, format: LineFormat): { format: DetectedFormat; event: LineEvent } | undefined {
  let text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (text.includes('\u001b')) text = text.replace(ANSI_ESCAPE, '');
  if (isBlank(text)) return undefined;
  const { format: detected, parsed } = format === 'auto' ? parseAuto(text) : { format, parsed: PARSERS[format](text) };
  if (parsed.message.length > MAX_MESSAGE) parsed.message = parsed.message.slice(0, MAX_MESSAGE);
  return { format: detected, event: parsed };
}

/** `text.trim() === ''`, answered by the first character for almost every line. */
function isBlank(text: string): boolean {
  const first = text.charCodeAt(0);
  // Printable ASCII other than space is never trimmed.
  if (first > SPACE && first < 0x7f) return false;
  return text.trim() === '';
}

/** Parses one line and says which format it was read as; blank lines give undefined. */
export function recognizeLine(line: string, format: LineFormat, context: ParseContext): RecognizedLine | undefined {
  const read = readLine(line, format);
  if (!read) return undefined;
  const { time, ...parsed } = read.event;
  const ts = typeof time === 'string' ? parseTime(time) : time;
  return {
    format: read.format,
    event: {
      v: RECORD_VERSION,
      id: `classify:${context.lineNumber}`,
      host: context.host,
      source: PASTED_SOURCE,
      ...parsed,
      // Fixtures and pasted lines keep their order even without timestamps: one ms apart.
      ts: ts !== undefined && !Number.isNaN(ts) ? ts : context.lineNumber,
    },
  };
}

/** Parses one line into the event the collector would have produced; blank lines give undefined. */
export function parseLine(line: string, format: LineFormat, context: ParseContext): NormalizedEvent | undefined {
  return recognizeLine(line, format, context)?.event;
}
