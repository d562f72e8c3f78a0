/**
 * Pure parsing of /dev/kmsg records and of the container ids kernel lines name. Shared with the
 * classifier (`fineprint classify` on pasted kernel lines) through containerIdsInCgroupPaths.
 */

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
const KILLED_PROCESS = /^(?:Memory cgroup out of memory|Out of memory): Killed process (\d+) /;
/** The "Killed process" line follows its oom-kill line within microseconds; 10 s is generous. */
const OOM_PID_TTL_USEC = 10_000_000;

/**
 * Finds the container a kernel record is about. Most name it by a cgroup path; the kernel's
 * `Killed process <pid>` line names none, so it is attributed to the container of the
 * `oom-kill:...task_memcg=...,pid=<pid>` line printed just before it. Times are the records' kernel
 * timestamps, so a backfill attributes the same way as a live read. Feed it every record, in order.
 */
export class OomKillTracker {
  private readonly byPid = new Map<string, { id: string; tsUsec: number }>();

  /** The container id, when exactly one is named (or remembered for an OOM victim). */
  containerOf(record: Pick<KmsgRecord, 'message' | 'tsUsec'>, cgroupIds: string[] = containerIdsInCgroupPaths(record.message)): string | undefined {
    const oom = OOM_KILL.exec(record.message);
    if (oom?.[2]) {
      const [victim] = containerIdsInCgroupPaths(oom[1] ?? '');
      if (victim) this.remember(oom[2], victim, record.tsUsec);
    }
    if (cgroupIds.length === 1) return cgroupIds[0];
    const killed = cgroupIds.length === 0 ? KILLED_PROCESS.exec(record.message) : null;
    const entry = killed?.[1] ? this.byPid.get(killed[1]) : undefined;
    return entry && record.tsUsec - entry.tsUsec <= OOM_PID_TTL_USEC ? entry.id : undefined;
  }

  private remember(pid: string, id: string, tsUsec: number): void {
    for (const [key, entry] of this.byPid) if (tsUsec - entry.tsUsec > OOM_PID_TTL_USEC) this.byPid.delete(key);
    this.byPid.set(pid, { id, tsUsec });
  }
}
