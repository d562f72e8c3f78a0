import { formatBytes } from '../../shared/audit/checks.js';
import { MAX_NOTE } from '../../shared/incident.js';
import { cutText } from '../../shared/redact.js';
import type { ContainerFacts, ContainerMount, NormalizedEvent } from '../../shared/event.js';
import { detectorMatches, notePlaceholders, type Detector } from '../../shared/kb/schema.js';
import type { VolumeUse, VolumeUsers, VolumeUsersPersistence } from '../../shared/volume-users.js';
import type { Signal } from './detect.js';

/** Mounts that keep data across containers: volumes and bind mounts. */
const keepsData = (mount: ContainerMount): mount is ContainerMount & { source: string } =>
  (mount.type === 'volume' || mount.type === 'bind') && mount.source !== undefined;

const keyOf = (host: string, source: string, destination: string): string => `${host}\0${source}\0${destination}`;

/**
 * Which containers used each volume, from the facts the collector sends: a container that starts on
 * a volume a container of another hostname used is a new node beside its predecessor's data
 * (RabbitMQ names its database directory after the hostname).
 */
export class VolumeHistory {
  private readonly byKey = new Map<string, VolumeUsers>();

  constructor(private readonly persistence?: VolumeUsersPersistence) {
    for (const users of persistence?.loadVolumeUsers() ?? []) {
      this.byKey.set(keyOf(users.current.host, users.current.source, users.current.destination), users);
    }
  }

  observe(facts: ContainerFacts): void {
    for (const mount of facts.mounts ?? []) {
      if (!keepsData(mount)) continue;
      const use: VolumeUse = {
        host: facts.host,
        source: mount.source,
        destination: mount.destination,
        hostname: facts.hostname,
        containerId: facts.id,
        containerName: facts.name,
        observedAt: facts.observedAt,
      };
      const key = keyOf(facts.host, mount.source, mount.destination);
      const known = this.byKey.get(key);
      // Facts of a container come again on every change: only a new user is news.
      if (known?.current.containerId === facts.id) continue;
      // Late facts of an earlier user change nothing.
      if (known && known.current.observedAt > facts.observedAt) continue;
      const previous = known ? (known.current.hostname !== facts.hostname ? known.current : known.previous) : undefined;
      const users: VolumeUsers = { current: use, ...(previous ? { previous } : {}) };
      this.byKey.set(key, users);
      this.persistence?.saveVolumeUsers(users);
    }
  }

  /** The container of another hostname that used `mount` before the container of `facts`. */
  previousUser(facts: ContainerFacts, mount: ContainerMount): VolumeUse | undefined {
    if (!keepsData(mount)) return undefined;
    const users = this.byKey.get(keyOf(facts.host, mount.source, mount.destination));
    if (users?.current.containerId !== facts.id || users.previous?.hostname === facts.hostname) return undefined;
    return users.previous;
  }
}

/** The mount that holds `path`: the one with the longest destination that is `path` or a parent of it. */
export function mountHolding(mounts: readonly ContainerMount[], path: string): ContainerMount | undefined {
  let best: ContainerMount | undefined;
  for (const mount of mounts) {
    const destination = mount.destination.replace(/\/+$/, '');
    if (path !== destination && !path.startsWith(`${destination}/`)) continue;
    if (!best || destination.length > best.destination.replace(/\/+$/, '').length) best = mount;
  }
  return best;
}

/** A signal with the note its detector's KB entry gives for this container's setup. */
export interface PlacedSignal extends Signal {
  note?: string;
}

/**
 * Places signals in their container's setup: drops those of `volumeReused` detectors whose volume
 * no container of another hostname used, and adds the first detector note whose placeholders all
 * have a value (the mount the message's path is on, the container that used the volume before).
 */
export class Placement {
  private readonly regexes = new WeakMap<Detector, RegExp | null>();

  constructor(private readonly volumes: VolumeHistory) {}

  place(signals: readonly Signal[], event: NormalizedEvent, facts: ContainerFacts | null): PlacedSignal[] {
    const placed: PlacedSignal[] = [];
    for (const signal of signals) {
      const detector = signal.entry.detectors.find((d) => d.id === signal.detectorId);
      if (!detector || (!detector.volumeReused && !detector.notes)) {
        placed.push(signal);
        continue;
      }
      const values = this.values(detector, event, facts);
      if (detector.volumeReused && values.previousHostname === undefined) continue;
      const note = detector.notes?.find((n) => notePlaceholders(n).every((name) => values[name] !== undefined));
      // Placeholder values can be long (paths up to 4 KiB): cut to what Evidence keeps.
      placed.push(note ? { ...signal, note: cutText(note.replace(/\{([A-Za-z][A-Za-z0-9]*)\}/g, (_, name: string) => values[name] as string), MAX_NOTE) } : signal);
    }
    return placed;
  }

  /** The placeholder values this event has in its container: named groups, then mount facts. */
  private values(detector: Detector, event: NormalizedEvent, facts: ContainerFacts | null): Record<string, string | undefined> {
    const groups = { ...(this.regexOf(detector)?.exec(event.message)?.groups ?? {}) };
    const values: Record<string, string | undefined> = groups;
    if (!facts) return values;
    const mounts = facts.mounts ?? [];
    const path = groups.path;
    const mount = path !== undefined ? mountHolding(mounts, path) : undefined;
    if (mount) {
      values.mount = mount.destination;
      values.volume = mount.source;
      if (mount.type === 'tmpfs' && mount.sizeBytes !== undefined) {
        values.tmpfs = mount.destination;
        values.tmpfsSize = formatBytes(mount.sizeBytes);
      }
    }
    if (detector.volumeReused) {
      const candidates = path !== undefined ? (mount ? [mount] : []) : mounts;
      for (const candidate of candidates) {
        const previous = this.volumes.previousUser(facts, candidate);
        if (!previous) continue;
        values.mount = candidate.destination;
        values.volume = candidate.source;
        values.previousHostname = previous.hostname;
        values.previousContainer = previous.containerName;
        break;
      }
    }
    return values;
  }

  /** The detector's message regex (the last step's for a sequence), compiled once. */
  private regexOf(detector: Detector): RegExp | undefined {
    let regex = this.regexes.get(detector);
    if (regex === undefined) {
      const match = detectorMatches(detector).at(-1);
      regex = match?.message ? new RegExp(match.message, match.ignoreCase === true ? 'i' : '') : null;
      this.regexes.set(detector, regex);
    }
    return regex ?? undefined;
  }
}
