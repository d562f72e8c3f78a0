import { z } from 'zod';
import type { Incident } from './incident.js';
import { globMatches } from './glob.js';

/** A glob over names: `*` any run of characters, `?` one character; everything else literal. */
const Glob = z.string().trim().min(1).max(256);

/** What a silence matches; every given matcher must match. At least one is required. */
export const SilenceMatchers = z
  .object({
    /** KB entry id, e.g. `oom-kill` or `jvm-*`. */
    kb: Glob.optional(),
    host: Glob.optional(),
    /** Container name or compose service. */
    container: Glob.optional(),
  })
  .strict()
  .refine((m) => m.kb !== undefined || m.host !== undefined || m.container !== undefined, {
    message: 'a silence needs at least one matcher (kb, host or container)',
  })
  // The refinement in JSON Schema, for the OpenAPI document.
  .meta({ minProperties: 1 });
export type SilenceMatchers = z.infer<typeof SilenceMatchers>;

/** A silence as stored and served. A silenced incident is still filed and searchable, only not notified. */
export const Silence = z.object({
  id: z.string(),
  matchers: SilenceMatchers,
  startsAt: z.iso.datetime(),
  endsAt: z.iso.datetime(),
  createdBy: z.string(),
  createdAt: z.iso.datetime(),
  comment: z.string(),
});
export type Silence = z.infer<typeof Silence>;


/** Whether a silence's matchers all match the incident (ignoring its time range). */
export function silenceMatches(matchers: SilenceMatchers, incident: Pick<Incident, 'kbId' | 'host' | 'container' | 'compose'>): boolean {
  if (matchers.kb !== undefined && !globMatches(matchers.kb, incident.kbId)) return false;
  if (matchers.host !== undefined && !globMatches(matchers.host, incident.host)) return false;
  if (matchers.container !== undefined) {
    const glob = matchers.container;
    const names = [incident.container?.name, incident.compose?.service].filter((n): n is string => Boolean(n));
    if (!names.some((n) => globMatches(glob, n))) return false;
  }
  return true;
}

/** The first silence active at `now` that matches the incident. */
export function activeSilence(silences: readonly Silence[], incident: Pick<Incident, 'kbId' | 'host' | 'container' | 'compose'>, now: number): Silence | undefined {
  return silences.find((s) => Date.parse(s.startsAt) <= now && now < Date.parse(s.endsAt) && silenceMatches(s.matchers, incident));
}
