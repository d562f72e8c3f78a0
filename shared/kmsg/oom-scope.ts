import type { OomScope } from '../memory-curve.js';
import { containerIdsInCgroupPaths } from './record.js';

const SUMMARY = /^oom-kill:constraint=(CONSTRAINT_[A-Z_]+)(?:,|$)/;
const OOM_MEMCG = /(?:^|,)oom_memcg=([^,]*)/;

/**
 * Reads the scope from the kernel's `oom-kill:constraint=...,oom_memcg=...,task_memcg=...` summary
 * line for the container `containerId`. `CONSTRAINT_MEMCG` means a memory cgroup's limit was hit:
 * the container's own when `oom_memcg` names its cgroup (or one inside it), a parent's otherwise.
 * Any other constraint (`CONSTRAINT_NONE`, cpuset, mempolicy) is a shortage of the host's memory.
 * Undefined when the line is not such a summary.
 */
export function oomScope(summaryLine: string, containerId: string): OomScope | undefined {
  const constraint = SUMMARY.exec(summaryLine)?.[1];
  if (!constraint) return undefined;
  if (constraint !== 'CONSTRAINT_MEMCG') return 'host';
  const memcg = OOM_MEMCG.exec(summaryLine)?.[1] ?? '';
  return containerIdsInCgroupPaths(memcg).some((id) => id === containerId || id.startsWith(containerId)) ? 'container' : 'parent';
}
