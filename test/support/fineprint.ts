// Runs the real `fineprint` CLI (built into dist/) as a child process, the way a user runs it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Incident, IncidentDetail } from '../../shared/incident.js';
import type { IncidentRisk, Risk } from '../../shared/risk.js';
import { PACKAGE_ROOT } from '../../shared/paths.js';
import { testDockerSocket, waitFor } from './docker.js';

/** The checkout (also right when this file runs compiled, from dist/). */
export const REPO_ROOT = PACKAGE_ROOT;
export const BIN = path.join(REPO_ROOT, 'bin', 'fineprint.js');
export const TEST_TOKEN = 'e2e-admin-token-0123456789abcdef';

export interface RunningFineprint {
  url: string;
  dataDir: string;
  child: ChildProcess;
  output: () => string;
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<number | null>;
  /** SIGKILL: the crash case. */
  kill(): Promise<void>;
}

export function tempDataDir(prefix = 'fineprint-e2e-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export type Role = 'start' | 'collector' | 'classifier' | 'api';

/** Starts `fineprint start` (all-in-one) and resolves once its API answers. */
export function startFineprint(env: Record<string, string> = {}, dataDir = tempDataDir()): Promise<RunningFineprint> {
  return startRole('start', env, dataDir);
}

/** Starts one role as its own process; resolves once it prints its API or status address. */
export async function startRole(role: Role, env: Record<string, string> = {}, dataDir = tempDataDir()): Promise<RunningFineprint> {
  const child = spawn(process.execPath, [BIN, role], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      DOCKER_HOST: `unix://${testDockerSocket()}`,
      FINEPRINT_DATA_DIR: dataDir,
      FINEPRINT_API_PORT: '0',
      FINEPRINT_STATUS_PORT: '0',
      FINEPRINT_ADMIN_TOKEN: TEST_TOKEN,
      FINEPRINT_PROBE_INTERVAL: '2',
      FINEPRINT_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`fineprint exited with ${child.exitCode}:\n${out}`);
      return /(?:API|status) at (http:\/\/[\d.:]+)/.exec(out)?.[1];
    },
    60_000,
    `fineprint ${role} to print its address`,
  );
  return {
    url,
    dataDir,
    child,
    output: () => out,
    async stop() {
      child.kill('SIGTERM');
      const late = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(late);
      return code;
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export async function api<T>(url: string, pathAndQuery: string, token = TEST_TOKEN): Promise<T> {
  const res = await fetch(`${url}${pathAndQuery}`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`GET ${pathAndQuery}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Incidents matching the query. */
export async function incidentsOf(url: string, query: Record<string, string>): Promise<Incident[]> {
  const qs = new URLSearchParams({ limit: '500', ...query }).toString();
  const { incidents } = await api<{ incidents: Incident[] }>(url, `/api/v1/incidents?${qs}`);
  return incidents;
}

/** Current risks (the audit's findings) matching the query. */
export async function risksOf(url: string, query: Record<string, string>): Promise<Risk[]> {
  const qs = new URLSearchParams({ limit: '500', ...query }).toString();
  return (await api<{ risks: Risk[] }>(url, `/api/v1/risks?${qs}`)).risks;
}

export async function incidentDetail(url: string, id: string): Promise<IncidentDetail & { kb: { why: string; fix: string[] } | null; risks: IncidentRisk[] }> {
  return api(url, `/api/v1/incidents/${id}`);
}
