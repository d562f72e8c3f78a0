// `fineprint mcp`: a Model Context Protocol server on stdio, so an assistant can answer "why did my
// container die?" from a running fineprint. It calls the REST API with a read token and nothing
// else: every tool is a GET, and an admin token is refused so an assistant can never acknowledge,
// resolve or silence. What the API returns is already redacted; each answer is redacted once more
// on its way out, so a secret that slipped into an older stored record does not reach the model.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
import { FineprintError } from '../../shared/errors.js';
import { Severity } from '../../shared/kb/schema.js';
import { PACKAGE_VERSION } from '../../shared/paths.js';
import { redactText } from '../../shared/redact.js';
import { apiClient, type ApiClient } from './api-client.js';

/** Characters of one tool answer: enough for an incident with its evidence, small for a model's context. */
const MAX_ANSWER = 60_000;
/** Evidence items of an incident an answer carries (newest first); the count says how many there are. */
const MAX_EVIDENCE = 20;

const query = (params: Record<string, string | number | undefined>): string => {
  const entries = Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '');
  return entries.length ? `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString()}` : '';
};

const answer = (value: unknown) => ({ content: [{ type: 'text' as const, text: redactText(JSON.stringify(value, null, 2), MAX_ANSWER) }] });

interface IncidentWithContext {
  evidence: unknown[];
  [key: string]: unknown;
}

/** The MCP server over a REST API client; exported for the CLI and its test. */
export function fineprintMcpServer(api: ApiClient): McpServer {
  const server = new McpServer({ name: 'fineprint', version: PACKAGE_VERSION });

  server.registerTool(
    'search_incidents',
    {
      title: 'Search incidents',
      description:
        'Search the Docker incidents fineprint filed (OOM kills, fork bombs, crash loops, full disks, ...), most recent first. Every word of `q` must match (title, message, container, image, KB text, evidence).',
      inputSchema: {
        q: z.string().max(200).optional().describe('Words to search for, e.g. a container name or "oom".'),
        container: z.string().max(256).optional().describe('Container name, compose service or id prefix.'),
        kb: z.string().max(100).optional().describe('KB entry id, e.g. oom-kill.'),
        status: z.enum(['open', 'acknowledged', 'resolved']).optional(),
        minSeverity: Severity.optional().describe('This severity or worse.'),
        since: z.string().max(40).optional().describe('Last seen at or after this time (ISO 8601).'),
        limit: z.number().int().min(1).max(50).default(20),
      },
    },
    async (args) => {
      const page = await api.call<{ incidents: unknown[]; nextCursor: string | null }>('GET', `/api/v1/incidents${query(args)}`);
      return answer({ incidents: page.incidents, more: page.nextCursor !== null });
    },
  );

  server.registerTool(
    'get_incident',
    {
      title: 'Get an incident',
      description:
        'One incident with its evidence (newest first), the container facts at the time (limits, restart policy, mounts; secrets redacted), the KB entry that explains it with its fix, the risks the audit had found, and its notifications.',
      inputSchema: { id: z.string().min(1).max(64).regex(/^[\w-]+$/).describe('The incident id from search_incidents.') },
    },
    async ({ id }) => {
      const incident = await api.call<IncidentWithContext>('GET', `/api/v1/incidents/${encodeURIComponent(id)}`);
      return answer({ ...incident, evidence: incident.evidence.slice(0, MAX_EVIDENCE), evidenceShown: Math.min(MAX_EVIDENCE, incident.evidence.length) });
    },
  );

  server.registerTool(
    'explain_kb_entry',
    {
      title: 'Explain a KB entry',
      description: "A knowledge-base entry: the fine print it describes, why it happens in Docker, how to fix it, and where the talk and the references say so.",
      inputSchema: { id: z.string().min(1).max(100).describe('KB entry id, e.g. oom-kill, pids-exhausted, zombie-reaping.') },
    },
    async ({ id }) => answer(await api.call('GET', `/api/v1/kb/${encodeURIComponent(id)}`)),
  );

  server.registerTool(
    'list_risks',
    {
      title: 'List risks',
      description: "The audit's current findings: fine print a container (or the daemon) is exposed to before anything fails, e.g. no memory limit, no init, unrotated logs. Most severe first.",
      inputSchema: {
        container: z.string().max(256).optional().describe('Container name or id prefix; `daemon` for the Docker daemon.'),
        kbId: z.string().max(100).optional(),
        severity: Severity.optional(),
        limit: z.number().int().min(1).max(100).default(50),
      },
    },
    async (args) => answer(await api.call('GET', `/api/v1/risks${query(args)}`)),
  );

  server.registerTool(
    'audit_container',
    {
      title: 'Audit a container',
      description: "Everything fineprint knows about one container: its state and restarts, its unresolved incidents, and every risk the audit found on it, each with its KB entry's fix.",
      inputSchema: { container: z.string().min(1).max(256).describe('Container name or id prefix.') },
    },
    async ({ container }) => {
      const [risks, containers] = await Promise.all([
        api.call<{ risks: { kbId: string }[] }>('GET', `/api/v1/risks${query({ container, limit: 100 })}`),
        api.call<{ containers: { name: string; id: string }[] }>('GET', '/api/v1/containers'),
      ]);
      const known = containers.containers.find((c) => c.name === container || c.id.startsWith(container)) ?? null;
      const fixes = await Promise.all(
        [...new Set(risks.risks.map((r) => r.kbId))].map(async (kbId) => {
          const entry = await api.call<{ id: string; title: string; fix: string[] }>('GET', `/api/v1/kb/${encodeURIComponent(kbId)}`);
          return { kbId: entry.id, title: entry.title, fix: entry.fix };
        }),
      );
      return answer({ container: known, risks: risks.risks, fixes });
    },
  );

  return server;
}

/** Serves MCP on stdin/stdout until the client closes it; refuses an admin token. */
export async function mcpCommand(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (!env.FINEPRINT_TOKEN) {
    throw new FineprintError('FP_CONFIG_INVALID', 'fineprint mcp needs FINEPRINT_TOKEN: a read token of the running fineprint (FINEPRINT_READ_TOKENS), never the admin token');
  }
  const api = apiClient(env);
  const who = await api.call<{ scope: string }>('GET', '/api/v1/whoami');
  if (who.scope !== 'read') {
    throw new FineprintError('FP_CONFIG_INVALID', 'fineprint mcp takes a read token only (FINEPRINT_READ_TOKENS): an assistant must not acknowledge, resolve or silence');
  }
  const server = fineprintMcpServer(api);
  const closed = new Promise<void>((resolve) => (server.server.onclose = resolve));
  await server.connect(new StdioServerTransport());
  await closed;
  return 0;
}
