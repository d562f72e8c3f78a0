import type { z } from 'zod';

/**
 * Each zod issue as `path: message`, the way every error of fineprint names a bad field. `whole`
 * stands for the path of an issue about the value itself (`(config)`, `(entry)`, `(record)`...);
 * `under` prefixes every path (the request part a route's schema validated).
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[], whole: string, under: readonly PropertyKey[] = []): string[] {
  return issues.map((issue) => {
    const path = [...under, ...issue.path].map(String).join('.');
    return `${path || whole}: ${issue.message}`;
  });
}
