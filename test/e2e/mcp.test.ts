// `fineprint mcp` as an assistant's MCP client runs it: the official SDK's client over stdio, against
// a real all-in-one that filed a real OOM kill of a container whose environment holds a secret.
// The assistant can find the incident, read it with its fix, explain the KB entry, list the risks
// and audit the container; nothing it is given carries the secret; an admin token is refused.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeContainers, runContainer, testDocker } from '../support/docker.js';
import { BIN, REPO_ROOT, startFineprint, TEST_TOKEN, type RunningFineprint } from '../support/fineprint.js';
import { ALLOCATE, expectOneOomEach } from '../support/scenarios.js';

const docker = testDocker();
const PREFIX = 'fp-mcp-';
const CONTAINER = `${PREFIX}oom`;
const READ_TOKEN = 'mcp-read-token-0123456789abcdef';
const MB = 1024 * 1024;
const SECRET = 'hunter2-mcp-5f8e1c0a9b7d';

let fp: RunningFineprint;
let client: Client;

interface ToolAnswer {
  content: { type: string; text: string }[];
  isError?: boolean;
}

/** Calls a tool; returns its text answer parsed, and the raw text for the secret check. */
async function call<T>(name: string, args: Record<string, unknown>): Promise<{ value: T; text: string }> {
  const result = (await client.callTool({ name, arguments: args })) as ToolAnswer;
  const text = result.content.map((c) => c.text).join('\n');
  expect(result.isError ?? false, text).toBe(false);
  return { value: JSON.parse(text) as T, text };
}

beforeAll(async () => {
  await removeContainers(docker, PREFIX);
  fp = await startFineprint({ FINEPRINT_READ_TOKENS: `assistant=${READ_TOKEN}` });
  const container = await runContainer(docker, { name: CONTAINER, cmd: ALLOCATE, memory: 32 * MB, env: [`DB_PASSWORD=${SECRET}`] });
  await container.wait();
  await expectOneOomEach(fp.url, [CONTAINER]);
  client = new Client({ name: 'fineprint-e2e', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp'],
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', FINEPRINT_URL: fp.url, FINEPRINT_TOKEN: READ_TOKEN },
      stderr: 'pipe',
    }),
  );
});

afterAll(async () => {
  await client?.close();
  await fp?.stop();
  await removeContainers(docker, PREFIX);
});

describe('fineprint mcp', () => {
  const answers: string[] = [];

  it('offers the read-only tools, each described', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['audit_container', 'explain_kb_entry', 'get_incident', 'list_risks', 'search_incidents']);
    for (const tool of tools) expect(tool.description?.length, tool.name).toBeGreaterThan(40);
  });

  it('answers "why did my container die?": the OOM kill, its limit, its evidence and the fix', async () => {
    const search = await call<{ incidents: { id: string; kbId: string; container: { name: string } }[] }>('search_incidents', { container: CONTAINER });
    answers.push(search.text);
    expect(search.value.incidents.map((i) => [i.kbId, i.container.name])).toEqual([['oom-kill', CONTAINER]]);
    const detail = await call<{ kbId: string; facts: { limits: { memory: number }; env: string[] }; evidence: { action?: string }[]; kb: { fix: string[] } }>('get_incident', {
      id: search.value.incidents[0]?.id,
    });
    answers.push(detail.text);
    expect(detail.value.facts.limits.memory).toBe(32 * MB);
    expect(detail.value.evidence.some((e) => e.action === 'die')).toBe(true);
    expect(detail.value.kb.fix.length).toBeGreaterThan(0);
    expect(detail.value.facts.env).toContain('DB_PASSWORD=[REDACTED]');
  });

  it('explains a KB entry, lists risks and audits the container', async () => {
    const entry = await call<{ id: string; why: string; fix: string[] }>('explain_kb_entry', { id: 'oom-kill' });
    expect(entry.value.id).toBe('oom-kill');
    expect(entry.value.fix.length).toBeGreaterThan(0);
    const risks = await call<{ risks: { container: { name: string } | null }[] }>('list_risks', { container: CONTAINER });
    const audit = await call<{ container: { name: string } | null; risks: unknown[]; fixes: { kbId: string; fix: string[] }[] }>('audit_container', { container: CONTAINER });
    answers.push(entry.text, risks.text, audit.text);
    expect(audit.value.container?.name).toBe(CONTAINER);
    expect(audit.value.risks.length).toBe(risks.value.risks.length);
    expect(audit.value.fixes.every((f) => f.fix.length > 0)).toBe(true);
  });

  it('never hands the assistant the secret', () => {
    expect(answers.length).toBeGreaterThanOrEqual(5);
    for (const text of answers) expect(text).not.toContain(SECRET);
  });

  it('refuses the admin token with one clear line', () => {
    const run = spawnSync(process.execPath, [BIN, 'mcp'], { cwd: REPO_ROOT, env: { ...process.env, FINEPRINT_URL: fp.url, FINEPRINT_TOKEN: TEST_TOKEN }, encoding: 'utf8', timeout: 30_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/read token only/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
