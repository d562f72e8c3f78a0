import Docker from 'dockerode';
import { z } from 'zod';

/** The setting of everything that talks to Docker (the collector, `fineprint audit` and `fineprint demo`). */
export const dockerConfig = {
  DOCKER_HOST: z
    .string()
    .regex(/^(unix:\/\/\/.+|tcp:\/\/[^/]+:\d+|npipe:.+)$/, 'unix:///path/to/docker.sock or tcp://host:port')
    .default('unix:///var/run/docker.sock')
    .describe('Docker Engine to talk to: `unix:///path/to/docker.sock` or `tcp://host:port`.'),
};

/** A dockerode client for a DOCKER_HOST value (unix:///path or tcp://host:port). */
export function dockerClient(dockerHost: string): Docker {
  if (dockerHost.startsWith('unix://')) return new Docker({ socketPath: dockerHost.slice('unix://'.length) });
  const url = new URL(dockerHost);
  return new Docker({ host: url.hostname, port: Number(url.port), protocol: 'http' });
}
