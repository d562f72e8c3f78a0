import Docker from 'dockerode';

/** A dockerode client for a DOCKER_HOST value (unix:///path or tcp://host:port). */
export function dockerClient(dockerHost: string): Docker {
  if (dockerHost.startsWith('unix://')) return new Docker({ socketPath: dockerHost.slice('unix://'.length) });
  const url = new URL(dockerHost);
  return new Docker({ host: url.hostname, port: Number(url.port), protocol: 'http' });
}
