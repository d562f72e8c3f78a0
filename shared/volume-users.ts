import { z } from 'zod';

/** One container's use of a volume (or host directory) at one mount point, as its facts showed it. */
export const VolumeUse = z.object({
  /** The Docker host the volume lives on. */
  host: z.string(),
  /** Volume name, or the host path of a bind mount. */
  source: z.string(),
  /** Where the container mounted it. */
  destination: z.string(),
  /** The container's hostname: what RabbitMQ, Erlang and other stateful nodes are named after. */
  hostname: z.string(),
  containerId: z.string(),
  containerName: z.string(),
  /** When the facts showing this use were read (ms since epoch). */
  observedAt: z.number(),
});
export type VolumeUse = z.infer<typeof VolumeUse>;

/** The users of one volume at one mount point: the latest, and the latest before it with another hostname. */
export const VolumeUsers = z.object({
  /** The latest container seen using the volume there. */
  current: VolumeUse,
  /** The latest container before it with another hostname, if any. */
  previous: VolumeUse.optional(),
});
export type VolumeUsers = z.infer<typeof VolumeUsers>;

/** Where volume users survive a classifier restart (the embedded store, or Elasticsearch). */
export interface VolumeUsersPersistence {
  /** Every record saved so far. */
  loadVolumeUsers(): VolumeUsers[];
  /** Replaces the record of `users.current`'s volume and mount point. */
  saveVolumeUsers(users: VolumeUsers): void;
}
