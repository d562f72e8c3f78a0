import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { commonConfig } from '../../shared/config.js';
import { Duration } from '../../shared/kb/schema.js';
import { allInOneConfig } from '../all-in-one/run.js';
import { apiProcessConfig } from '../api/run.js';
import { auditConfig } from '../audit/config.js';
import { classifierProcessConfig } from '../classifier/run.js';
import { collectorProcessConfig } from '../collector/run.js';
import { clientConfig } from './api-client.js';
import { demoConfig } from './demo.js';
import { notifyTestConfig } from './notify-test.js';

/** A command and the settings it reads (the shape it hands to `loadConfig`). */
export interface ConfigCommand {
  command: string;
  shape: z.ZodRawShape;
}

/** Every command that reads configuration, in the order docs/configuration.md lists them. */
export const CONFIG_COMMANDS: readonly ConfigCommand[] = [
  { command: 'start', shape: allInOneConfig },
  { command: 'collector', shape: collectorProcessConfig },
  { command: 'classifier', shape: classifierProcessConfig },
  { command: 'api', shape: apiProcessConfig },
  { command: 'audit', shape: auditConfig },
  { command: 'demo', shape: demoConfig },
  { command: 'classify', shape: commonConfig },
  { command: 'kb', shape: commonConfig },
  { command: 'incidents', shape: clientConfig },
  { command: 'silences', shape: clientConfig },
  { command: 'whoami', shape: clientConfig },
  { command: 'mcp', shape: clientConfig },
  { command: 'notify', shape: notifyTestConfig },
];

/** What docs/configuration.md says about one option as one command reads it. */
export interface OptionDoc {
  name: string;
  /** The schema's description; missing is a bug the drift test reports. */
  description: string | undefined;
  default: string;
  accepts: string;
}

/** The wrappers between an option's outer schema and the type it parses. */
const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly']);

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let inner = schema;
  while (WRAPPERS.has(inner._zod.def.type)) inner = (inner._zod.def as unknown as { innerType: z.core.$ZodType }).innerType;
  return inner;
}

/** The outermost metadata along the wrappers: the description the command's own shape gives wins. */
function metaOf(schema: z.core.$ZodType): z.core.GlobalMeta {
  const layers: z.core.GlobalMeta[] = [];
  for (let s: z.core.$ZodType | undefined = schema; s; ) {
    const meta = z.globalRegistry.get(s);
    if (meta) layers.push(meta);
    s = WRAPPERS.has(s._zod.def.type) ? (s._zod.def as unknown as { innerType: z.core.$ZodType }).innerType : undefined;
  }
  return Object.assign({}, ...layers.reverse()) as z.core.GlobalMeta;
}

const code = (value: unknown): string => `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;

function defaultOf(schema: z.core.$ZodType, meta: z.core.GlobalMeta): string {
  if (meta.defaultText) return meta.defaultText;
  for (let s = schema; WRAPPERS.has(s._zod.def.type); s = (s._zod.def as unknown as { innerType: z.core.$ZodType }).innerType) {
    const def = s._zod.def as unknown as { type: string; defaultValue?: unknown };
    if (def.type === 'default' || def.type === 'prefault') {
      const value = def.defaultValue;
      return Array.isArray(value) && value.length === 0 ? 'none' : code(value);
    }
    if (def.type === 'optional') return 'unset';
  }
  return 'required';
}

const DURATION_PATTERN = (z.toJSONSchema(Duration, { io: 'input' }) as { pattern?: string }).pattern;

/** What a value may be, from the schema's input side (what a variable's text must look like). */
function acceptsOf(schema: z.core.$ZodType): string {
  const json = z.toJSONSchema(unwrap(schema), { io: 'input', unrepresentable: 'any' }) as {
    type?: string;
    enum?: unknown[];
    minimum?: number;
    maximum?: number;
    minLength?: number;
    maxLength?: number;
    format?: string;
    pattern?: string;
  };
  if (json.enum) return json.enum.map(code).join(', ');
  if (json.type === 'integer' || json.type === 'number') {
    const max = json.maximum !== undefined && json.maximum < Number.MAX_SAFE_INTEGER ? json.maximum : undefined;
    const range = max === undefined ? `${json.minimum ?? 0} or more` : `${json.minimum ?? 0} to ${max}`;
    return `${json.type === 'integer' ? 'integer' : 'number'}, ${range}`;
  }
  if (json.pattern !== undefined && json.pattern === DURATION_PATTERN) return 'duration: `500ms`, `30s`, `5m`, `2h`';
  if (json.format === 'uri') return 'URL';
  const parts = ['text'];
  if (json.minLength !== undefined && json.minLength > 1) parts.push(`at least ${json.minLength} characters`);
  if (json.maxLength !== undefined) parts.push(`at most ${json.maxLength} characters`);
  if (json.pattern !== undefined) parts.push(`matching ${code(json.pattern)}`);
  return parts.join(', ');
}

/** One option as a command reads it. */
export function describeOption(name: string, schema: z.core.$ZodType): OptionDoc {
  const meta = metaOf(schema);
  return { name, description: meta.description, default: defaultOf(schema, meta), accepts: acceptsOf(schema) };
}

/** Every option with the commands that read it; an option several commands read differently keeps each variant. */
interface OptionEntry {
  name: string;
  commands: string[];
  variants: { commands: string[]; doc: OptionDoc }[];
}

function collectOptions(commands: readonly ConfigCommand[] = CONFIG_COMMANDS): OptionEntry[] {
  const byName = new Map<string, OptionEntry>();
  for (const { command, shape } of commands) {
    for (const [name, schema] of Object.entries(shape)) {
      const doc = describeOption(name, schema);
      let entry = byName.get(name);
      if (!entry) byName.set(name, (entry = { name, commands: [], variants: [] }));
      entry.commands.push(command);
      const same = entry.variants.find((v) => JSON.stringify(v.doc) === JSON.stringify(doc));
      if (same) same.commands.push(command);
      else entry.variants.push({ commands: [command], doc });
    }
  }
  return [...byName.values()];
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** One column of an option: the same for every command, or each variant followed by the commands it applies to. */
function column(entry: OptionEntry, pick: (doc: OptionDoc) => string): string {
  const values = new Map<string, string[]>();
  for (const { commands, doc } of entry.variants) values.set(pick(doc), [...(values.get(pick(doc)) ?? []), ...commands]);
  if (values.size === 1) return [...values.keys()][0] as string;
  return [...values].map(([value, commands]) => `${value} (${commands.map((c) => `\`${c}\``).join(', ')})`).join('; ');
}

const HEADER = `# Configuration

<!-- Generated from the options' zod schemas by \`fineprint config docs\` (\`npm run docs:config\`): edit the
     descriptions in the schemas (shared/config.ts, services/*/config.ts, services/*/run.ts), not this page. -->

fineprint reads its settings from the environment, or from a YAML or JSON file named by
\`FINEPRINT_CONFIG\` whose keys are the variable names. A variable set in the environment wins over
the file; an empty variable counts as unset. Each command reads only the variables listed for it
below, and invalid settings stop it before it connects to anything, with every problem listed
(\`FP_CONFIG_INVALID\`).

\`\`\`sh
FINEPRINT_API_PORT=8080 FINEPRINT_LOG_LEVEL=debug npx fineprint start
\`\`\`

\`\`\`yaml
# /etc/fineprint/fineprint.yaml   (FINEPRINT_CONFIG=/etc/fineprint/fineprint.yaml)
FINEPRINT_HOST_NAME: web-3
FINEPRINT_NOTIFY_CONFIG: /etc/fineprint/notify.yaml
\`\`\`

Notification receivers and routes have a file of their own (\`FINEPRINT_NOTIFY_CONFIG\`), described in
[Notifications](notifications.md).
`;

/** docs/configuration.md as the schemas describe it. */
export function renderConfigDocs(commands: readonly ConfigCommand[] = CONFIG_COMMANDS): string {
  const rows = collectOptions(commands).map((entry) =>
    [
      `\`${entry.name}\``,
      column(entry, (d) => d.default),
      column(entry, (d) => d.accepts),
      entry.commands.map((c) => `\`${c}\``).join(', '),
      column(entry, (d) => d.description ?? ''),
    ]
      .map(cell)
      .join(' | '),
  );
  return `${HEADER}
| variable | default | accepts | read by \`fineprint …\` | meaning |
| --- | --- | --- | --- | --- |
${rows.map((r) => `| ${r} |`).join('\n')}
`;
}

/** Options whose schema has no description, as `COMMAND: NAME`. */
export function undescribedOptions(commands: readonly ConfigCommand[] = CONFIG_COMMANDS): string[] {
  return collectOptions(commands).flatMap((entry) =>
    entry.variants.filter((v) => !v.doc.description).flatMap((v) => v.commands.map((c) => `${c}: ${entry.name}`)),
  );
}

/** True when the file holds exactly the rendering (a missing file differs). */
export function configDocsCurrent(path: string, text: string): boolean {
  try {
    return readFileSync(path, 'utf8') === text;
  } catch {
    return false;
  }
}
