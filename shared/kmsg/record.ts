/**
 * Pure parsing of /dev/kmsg records, of the container ids kernel lines name, and the attribution of
 * kernel OOM reports to their container (no I/O: the kmsg source feeds it). Shared with the
 * classifier (`fineprint classify` on pasted kernel lines) through containerIdsInCgroupPaths.
 */
import { parseTaskDump, type OomTask } from './oom-tasks.js';

/** One /dev/kmsg record: `prio,seq,ts_usec,flags[,...];message\n` plus ` KEY=value` lines. */
export interface KmsgRecord {
  /** Syslog level, prio & 7 (0 = emerg, 3 = err, 6 = info). */
  level: number;
  /** Syslog facility, prio >> 3 (0 = kernel, 1 = user: lines written to /dev/kmsg). */
  facility: number;
  /** Sequence number; increases by one per record, gaps mean overwritten records. */
  seq: number;
  /** Microseconds since boot (the kernel's local clock). */
  tsUsec: number;
  /** The message, with the kernel's \xNN escapes decoded. */
  message: string;
}

const HEADER = /^(\d+),(\d+),(\d+),[^;]*;/;

/** Decodes the kernel's \xNN escapes (non-printable bytes and backslash) as UTF-8 bytes. */
export function unescapeKmsg(text: string): string {
  if (!text.includes('\\x')) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; ) {
    if (text[i] === '\\' && text[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      bytes.push(Number.parseInt(text.slice(i + 2, i + 4), 16));
      i += 4;
      continue;
    }
    const code = text.codePointAt(i) as number;
    const char = String.fromCodePoint(code);
    bytes.push(...Buffer.from(char, 'utf8'));
    i += char.length;
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Parses one record as one read() returns it; continuation lines (` SUBSYSTEM=...`) are dropped. */
export function parseKmsgRecord(record: string): KmsgRecord | undefined {
  const m = HEADER.exec(record);
  if (!m) return undefined;
  const prio = Number(m[1]);
  const newline = record.indexOf('\n', m[0].length);
  return {
    level: prio & 7,
    facility: prio >> 3,
    seq: Number(m[2]),
    tsUsec: Number(m[3]),
    message: unescapeKmsg(record.slice(m[0].length, newline < 0 ? undefined : newline)),
  };
}

/**
 * Container ids named by cgroup paths: `/docker/<id>` (cgroupfs driver, memcg OOM reports, the pids
 * controller), `docker-<id>.scope` (systemd driver). Distinct, in order of appearance.
 */
export function containerIdsInCgroupPaths(message: string): string[] {
  const ids = new Set<string>();
  for (const m of message.matchAll(/(?:\/docker\/([0-9a-f]{64})|docker-([0-9a-f]{64})\.scope)(?![0-9a-f])/g)) {
    ids.add((m[1] ?? m[2]) as string);
  }
  return [...ids];
}

const OOM_KILL = /^oom-kill:.*?\btask_memcg=([^,\s]*).*?,pid=(\d+)/;
/** Lines naming a victim by pid only: the kill line and the reaper's. */
const VICTIM_PID = /^(?:(?:Memory cgroup out of memory|Out of memory(?: \(oom_kill_allocating_task\))?): )?(?:Killed process|oom_reaper: reaped process) (\d+)\b/;
/** The "Killed process" line follows its oom-kill line within microseconds; 10 s is generous. */
const OOM_PID_TTL_USEC = 10_000_000;
/** How many container PID 1s are remembered (a host runs far fewer at once). */
const MAX_CONTAINER_PIDS = 16_384;

/**
 * Finds the container a kernel record is about. Most name it by a cgroup path. The kernel's
 * `Killed process <pid>` and `oom_reaper: reaped process <pid>` lines name none: they are
 * attributed to the container of the `oom-kill:...task_memcg=...,pid=<pid>` line printed just
 * before, or, when the kernel rate-limited that summary away (10 reports per 5 s), to the container
 * whose PID 1 has that pid (from Docker's inspects, see containerStarted). Times are the records'
 * kernel timestamps, so a backfill attributes the same way as a live read. Feed it every record, in order.
 */
export class OomKillTracker {
  private readonly byPid = new Map<string, { id: string; tsUsec: number }>();
  /** Host pid of each container's PID 1; a stopped container's entry outlives it by OOM_PID_TTL_USEC. */
  private readonly pid1 = new Map<string, { id: string; stoppedAtUsec?: number }>();
  private readonly pid1Of = new Map<string, string>();

  /** The container id, when exactly one is named (or remembered for an OOM victim). */
  containerOf(record: Pick<KmsgRecord, 'message' | 'tsUsec'>, cgroupIds: string[] = containerIdsInCgroupPaths(record.message)): string | undefined {
    const oom = OOM_KILL.exec(record.message);
    if (oom?.[2]) {
      const [victim] = containerIdsInCgroupPaths(oom[1] ?? '');
      if (victim) this.remember(oom[2], victim, record.tsUsec);
    }
    if (cgroupIds.length === 1) return cgroupIds[0];
    const pid = cgroupIds.length === 0 ? VICTIM_PID.exec(record.message)?.[1] : undefined;
    if (!pid) return undefined;
    const summary = this.byPid.get(pid);
    if (summary && record.tsUsec - summary.tsUsec <= OOM_PID_TTL_USEC) return summary.id;
    const container = this.pid1.get(pid);
    if (!container || (container.stoppedAtUsec !== undefined && record.tsUsec - container.stoppedAtUsec > OOM_PID_TTL_USEC)) return undefined;
    return container.id;
  }

  /** A container runs with PID 1 at host pid `pid` (State.Pid of an inspect). */
  containerStarted(pid: number, id: string): void {
    const previous = this.pid1Of.get(id);
    if (previous !== undefined) this.pid1.delete(previous);
    // A pid reused by a new container: the old one no longer owns it.
    const reused = this.pid1.get(String(pid));
    if (reused) this.pid1Of.delete(reused.id);
    if (this.pid1.size >= MAX_CONTAINER_PIDS) {
      const oldest = this.pid1.keys().next().value as string;
      this.pid1Of.delete((this.pid1.get(oldest) as { id: string }).id);
      this.pid1.delete(oldest);
    }
    this.pid1.set(String(pid), { id });
    this.pid1Of.set(id, String(pid));
  }

  /**
   * A container is no longer running (`tsUsec`: now, on the kernel's clock). Its pid is kept a
   * little longer: the kill line may be read after Docker reported the death.
   */
  containerStopped(id: string, tsUsec: number): void {
    for (const [pid, entry] of this.pid1) {
      if (entry.stoppedAtUsec !== undefined && tsUsec - entry.stoppedAtUsec > OOM_PID_TTL_USEC) {
        this.pid1.delete(pid);
        this.pid1Of.delete(entry.id);
      }
    }
    const pid = this.pid1Of.get(id);
    const entry = pid === undefined ? undefined : this.pid1.get(pid);
    if (entry && entry.stoppedAtUsec === undefined) entry.stoppedAtUsec = tsUsec;
  }

  private remember(pid: string, id: string, tsUsec: number): void {
    for (const [key, entry] of this.byPid) if (tsUsec - entry.tsUsec > OOM_PID_TTL_USEC) this.byPid.delete(key);
    this.byPid.set(pid, { id, tsUsec });
  }
}

/** A kernel record, the container ids its cgroup paths name, and the container it is attributed to. */
export interface AttributedRecord {
  record: KmsgRecord;
  cgroupIds: string[];
  containerId?: string;
  /**
   * On the kill line of a global OOM report (the host's memory ran out, not a cgroup's): the
   * processes of its task dump using the most memory, most first (empty when it had no dump).
   */
  globalOomTasks?: OomTask[];
}

/** The processes of a global OOM's task dump kept with its kill line. */
export const GLOBAL_OOM_TASKS = 10;
/** Lines that say an OOM report is a global one: a constraint other than a memcg's, or the host-wide kill. */
const GLOBAL_OOM = /^oom-kill:constraint=CONSTRAINT_(?!MEMCG)|^Out of memory(?: \(oom_kill_allocating_task\))?: Kill/;

/** The first line of an OOM report (`<comm> invoked oom-killer: gfp_mask=...`). */
const REPORT_START = / invoked oom-killer: /;
/**
 * The last line of an OOM report: the kill (`...: Killed process N`, or `Killed process N` after the
 * `Kill process N ... or sacrifice child` line of kernels before 4.19), or the kernel giving up.
 */
const REPORT_END = /^(?:(?:Memory cgroup out of memory|Out of memory(?: \(oom_kill_allocating_task\))?): )?Killed process \d+\b|^Out of memory and no killable processes/;
/** Lines of a report that name its memory cgroup (or its victim, by pid). */
const REPORT_NAMES_CONTAINER = /^(?:oom-kill:|Memory cgroup stats for |Tasks? in |(?:(?:Memory cgroup out of memory|Out of memory(?: \(oom_kill_allocating_task\))?): )?Kill(?:ed)? process )/;
/** A report is printed at once; one still open after this long (slow console) is released as it is. */
export const REPORT_HOLD_USEC = 2_000_000;
/** Bound on the records held for one report (a report with a long task list is a few hundred). */
const MAX_REPORT_RECORDS = 4096;

/**
 * Attributes every line of a kernel OOM report to the container it is about. The report's first
 * lines (`invoked oom-killer`, `memory: usage ...`) name no container; the memcg comes later
 * (`Memory cgroup stats for /docker/<id>`, the oom-kill summary, the kill line). So the lines from
 * the header to the kill line are held, then released together, each attributed to the report's
 * container. Everything else passes through at once. Feed it every record, in order.
 */
export class OomReportAttributor {
  readonly tracker = new OomKillTracker();
  private held: AttributedRecord[] = [];
  private reportContainer: string | undefined;

  /** Records ready to be sent, in order (none while a report is incomplete). */
  push(record: KmsgRecord): AttributedRecord[] {
    const cgroupIds = containerIdsInCgroupPaths(record.message);
    const containerId = this.tracker.containerOf(record, cgroupIds);
    const attributed: AttributedRecord = { record, cgroupIds, ...(containerId ? { containerId } : {}) };
    if (REPORT_START.test(record.message)) {
      const released = this.releaseAll();
      this.held = [attributed];
      return released;
    }
    if (this.held.length === 0) return [attributed];
    this.held.push(attributed);
    if (containerId && !this.reportContainer && REPORT_NAMES_CONTAINER.test(record.message)) this.reportContainer = containerId;
    return REPORT_END.test(record.message) || this.held.length >= MAX_REPORT_RECORDS ? this.releaseAll() : [];
  }

  /** Releases a report still incomplete `REPORT_HOLD_USEC` after its first line (`nowUsec`: kernel clock). */
  expire(nowUsec: number): AttributedRecord[] {
    const first = this.held[0];
    return first && nowUsec - first.record.tsUsec > REPORT_HOLD_USEC ? this.releaseAll() : [];
  }

  /** Sequence number of the oldest record held, if any (the cursor must not pass it). */
  get oldestHeldSeq(): number | undefined {
    return this.held[0]?.record.seq;
  }

  private releaseAll(): AttributedRecord[] {
    const container = this.reportContainer;
    const released = this.held.map((r) => (r.containerId || !container ? r : { ...r, containerId: container }));
    const messages = released.map((r) => r.record.message);
    const kill = [...released].reverse().find((r) => REPORT_END.test(r.record.message));
    if (kill && messages.some((m) => GLOBAL_OOM.test(m))) {
      kill.globalOomTasks = parseTaskDump(messages).sort((a, b) => b.rssPages - a.rssPages).slice(0, GLOBAL_OOM_TASKS);
    }
    this.held = [];
    this.reportContainer = undefined;
    return released;
  }
}
