import Module, { createRequire } from 'node:module';
import type Docker from 'dockerode';
import { z } from 'zod';

const require = createRequire(import.meta.url);

/**
 * Registers a CommonJS module whose export is a function as a stub that loads the real module at
 * its first call. dockerode loads at start what two features fineprint never uses need: BuildKit
 * sessions (@grpc/grpc-js and protobufjs) and ssh:// hosts (ssh2), some 11 MiB resident in every
 * process; with the stubs they load only if called.
 */
function loadOnFirstCall(path: string): void {
  let real: ((...args: unknown[]) => unknown) | undefined;
  const stub = new Module(path);
  stub.filename = path;
  stub.loaded = true;
  stub.exports = function (this: unknown, ...args: unknown[]) {
    if (!real) {
      delete require.cache[path];
      real = require(path) as (...args: unknown[]) => unknown;
    }
    return real.apply(this, args);
  };
  require.cache[path] = stub;
}

const fromDockerode = createRequire(require.resolve('dockerode'));
loadOnFirstCall(fromDockerode.resolve('./session.js'));
loadOnFirstCall(fromDockerode.resolve('docker-modem/lib/ssh.js'));
const Dockerode = require('dockerode') as typeof Docker;

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
  if (dockerHost.startsWith('unix://')) return new Dockerode({ socketPath: dockerHost.slice('unix://'.length) });
  const url = new URL(dockerHost);
  return new Dockerode({ host: url.hostname, port: Number(url.port), protocol: 'http' });
}
