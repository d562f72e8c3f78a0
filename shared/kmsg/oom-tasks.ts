/**
 * The task dump of a kernel OOM report (mm/oom_kill.c dump_tasks(), printed unless
 * vm.oom_dump_tasks is 0): a `Tasks state (memory values in pages):` title, a header such as
 * `[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name` (kernel 6.8
 * adds `rss_anon rss_file rss_shmem` after rss; before 4.19 it had `nr_ptes nr_pmds`), and a row
 * per process. Every form starts with pid, uid, tgid, total_vm and rss and ends with the name.
 */

/** One row of the task dump: memory in pages, as the kernel prints it. */
export interface OomTask {
  pid: number;
  uid: number;
  tgid: number;
  totalVmPages: number;
  rssPages: number;
  /** The command name (up to 15 characters; it may contain spaces). */
  name: string;
}

const HEADER = /^\[\s*pid\s*\]\s+uid\s+tgid\s+total_vm\s+rss\s.*\sname\s*$/;
const ROW = /^\[\s*(\d+)\]/;
const INTEGER = /^-?\d+$/;

/** The rows of the task dump among a report's messages (kernel text without prefixes), in the kernel's order. */
export function parseTaskDump(messages: readonly string[]): OomTask[] {
  let numbers: number | undefined;
  const tasks: OomTask[] = [];
  for (const message of messages) {
    if (HEADER.test(message)) {
      // The header's columns after `[ pid ]` but the name: the numbers each row has after its pid.
      numbers = message.replace(/^\[\s*pid\s*\]/, '').trim().split(/\s+/).length - 1;
      continue;
    }
    const pid = numbers === undefined ? undefined : ROW.exec(message);
    if (!pid || numbers === undefined) continue;
    // The name may contain spaces and start with digits: the header says how many numbers come first.
    const tokens = [...message.slice(pid[0].length).matchAll(/\S+/g)];
    const nameAt = tokens[numbers];
    if (!nameAt || !tokens.slice(0, numbers).every((t) => INTEGER.test(t[0]))) continue;
    const [uid, tgid, totalVm, rss] = tokens.slice(0, 4).map((t) => Number(t[0])) as [number, number, number, number];
    tasks.push({ pid: Number(pid[1]), uid, tgid, totalVmPages: totalVm, rssPages: rss, name: message.slice(pid[0].length + (nameAt.index ?? 0)).trim() });
  }
  return tasks;
}
