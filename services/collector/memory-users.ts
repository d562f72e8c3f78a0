import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerRef } from '../../shared/event.js';
import { containerIdsInCgroupPaths } from '../../shared/kmsg/record.js';
import type { OomTask } from '../../shared/kmsg/oom-tasks.js';
import type { MemoryUsers } from '../../shared/memory-curve.js';
import { redactText } from '../../shared/redact.js';

/** The kernel prints the task dump in pages; 4 KiB on x86-64 and on most arm64 hosts. */
const PAGE_BYTES = 4096;
/** Containers and processes an incident names. */
const TOP = 5;

/** A container's latest memory reading (the memory source's). */
export interface ContainerMemory {
  container: ContainerRef;
  bytes: number;
}

export interface MemoryUsersOptions {
  /** Where the host's /proc is mounted. */
  procPath: string;
  /** The collector's latest reading of each container it reads. */
  containerMemory: () => readonly ContainerMemory[];
  /** A container's name and image by its id (an inspect). */
  describe: (id: string) => Promise<ContainerRef>;
}

/** The container a host process runs in, from its cgroup file (undefined outside containers or once it exited). */
async function containerOf(procPath: string, pid: number): Promise<string | undefined> {
  const cgroup = await readFile(join(procPath, String(pid), 'cgroup'), 'utf8').catch(() => '');
  return containerIdsInCgroupPaths(cgroup)[0];
}

/** The processes using the most resident memory now, from /proc (for a report without a task dump). */
async function topOfProc(procPath: string): Promise<OomTask[]> {
  const pids = (await readdir(procPath).catch(() => [])).filter((name) => /^\d+$/.test(name));
  const tasks = await Promise.all(
    pids.map(async (pid): Promise<OomTask | undefined> => {
      // Processes come and go while we scan: a vanished one is simply left out.
      const [statm, comm] = await Promise.all([readFile(join(procPath, pid, 'statm'), 'utf8').catch(() => ''), readFile(join(procPath, pid, 'comm'), 'utf8').catch(() => '')]);
      const [size, resident] = statm.split(' ').map(Number);
      if (resident === undefined || !Number.isFinite(resident)) return undefined;
      return { pid: Number(pid), uid: 0, tgid: Number(pid), totalVmPages: size ?? 0, rssPages: resident, name: comm.trim() };
    }),
  );
  return tasks.filter((t): t is OomTask => t !== undefined).sort((a, b) => b.rssPages - a.rssPages);
}

/**
 * Who used the host's memory at a global OOM: the processes of the kernel's task dump using the
 * most (or of /proc right after, when the report had no dump), each with its container, and the
 * containers by the collector's latest readings, completed by the memory of their processes in the
 * dump for containers it does not read (those without a limit: the usual culprits of a global OOM).
 */
export async function memoryUsersAt(dumped: readonly OomTask[], options: MemoryUsersOptions): Promise<MemoryUsers> {
  const tasks = dumped.length > 0 ? [...dumped].sort((a, b) => b.rssPages - a.rssPages) : await topOfProc(options.procPath);
  const top = await Promise.all(
    tasks.slice(0, TOP * 2).map(async (task) => ({ task, containerId: await containerOf(options.procPath, task.tgid) })),
  );
  const containers = new Map<string, { id: string; name?: string; bytes: number }>();
  for (const { container, bytes } of options.containerMemory()) {
    containers.set(container.id, { id: container.id, ...(container.name ? { name: container.name } : {}), bytes });
  }
  const fromTasks = new Map<string, number>();
  for (const { task, containerId } of top) if (containerId) fromTasks.set(containerId, (fromTasks.get(containerId) ?? 0) + task.rssPages * PAGE_BYTES);
  for (const [id, bytes] of fromTasks) {
    if (containers.has(id)) continue;
    const { name } = await options.describe(id);
    containers.set(id, { id, ...(name ? { name } : {}), bytes });
  }
  return {
    containers: [...containers.values()].sort((a, b) => b.bytes - a.bytes).slice(0, TOP),
    processes: top.slice(0, TOP).map(({ task, containerId }) => ({
      pid: task.tgid,
      name: redactText(task.name, 64),
      rssBytes: task.rssPages * PAGE_BYTES,
      ...(containerId ? { containerId } : {}),
    })),
    processesFrom: dumped.length > 0 ? 'task-dump' : 'proc',
  };
}
