import { readFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FineprintError } from './errors.js';
import { DEFAULT_KB_DIR } from './kb/load.js';
import { formatIssues } from './zod-issues.js';

/**
 * Configuration is read once, here, from the environment and an optional file (`FINEPRINT_CONFIG`,
 * YAML or JSON, keys named like the variables). Variables win over the file; an empty variable
 * counts as unset. Every problem is reported at once and the process stops before connecting.
 */
export type Environment = Record<string, string | undefined>;

const defaultDataDir = (): string =>
  process.getuid?.() === 0 ? '/var/lib/fineprint' : join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'fineprint');

declare module 'zod' {
  interface GlobalMeta {
    /** How docs/configuration.md states a default that depends on the machine (a path, the host name) or on another option. */
    defaultText?: string;
  }
}

const boolean = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/**
 * Settings every command shares. Each option's description (and, where the default depends on the
 * machine, `defaultText`) is what docs/configuration.md says about it (`fineprint config docs`).
 */
export const commonConfig = {
  FINEPRINT_CONFIG: z
    .string()
    .min(1)
    .optional()
    .describe('Configuration file (YAML or JSON) whose keys are these variable names; a variable set in the environment wins over the file.'),
  FINEPRINT_DATA_DIR: z
    .string()
    .min(1)
    .default(defaultDataDir)
    .describe("Where the embedded database, the generated admin token and the sources' cursors live.")
    .meta({ defaultText: '`/var/lib/fineprint` as root, else `$XDG_DATA_HOME/fineprint` (`~/.local/share/fineprint`)' }),
  FINEPRINT_LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace'])
    .default('info')
    .describe('Level of the logs written to stderr.'),
  FINEPRINT_LOG_FORMAT: z
    .enum(['auto', 'json', 'pretty'])
    .default('auto')
    .describe('`json`: one JSON object a line, for log collectors; `pretty`: one line a record, for people; `auto`: pretty when stderr is a terminal, else JSON.'),
  FINEPRINT_KB_DIR: z
    .string()
    .min(1)
    .default(DEFAULT_KB_DIR)
    .describe('Knowledge base directory, one YAML file per entry; a bad entry stops start-up naming the file and the field.')
    .meta({ defaultText: 'the `kb/` shipped with fineprint' }),
  FINEPRINT_HOST_NAME: z
    .string()
    .min(1)
    .max(253)
    .default(hostname)
    .describe('Host name stamped on every event and incident. Set it on every host of a fleet: incidents of hosts with the same name merge.')
    .meta({ defaultText: "this machine's host name" }),
};

export const configFields = { boolean };

function readConfigFile(path: string): Environment {
  let data: unknown;
  try {
    data = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new FineprintError('FP_CONFIG_INVALID', `FINEPRINT_CONFIG=${path}: ${(error as Error).message}`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new FineprintError('FP_CONFIG_INVALID', `FINEPRINT_CONFIG=${path}: expected a mapping of VARIABLE: value`);
  }
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v === null ? undefined : String(v)]));
}

/** Parses a service's settings; throws FP_CONFIG_INVALID listing every bad variable. */
export function loadConfig<Shape extends z.ZodRawShape>(shape: Shape, env: Environment = process.env): z.infer<z.ZodObject<Shape>> {
  const file = env.FINEPRINT_CONFIG ? readConfigFile(env.FINEPRINT_CONFIG) : {};
  const merged: Environment = { ...file };
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value !== '') merged[key] = value;
  const result = z.object(shape).safeParse(merged);
  if (!result.success) {
    const problems = formatIssues(result.error.issues, '(config)');
    throw new FineprintError('FP_CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`, { problems });
  }
  return result.data as z.infer<z.ZodObject<Shape>>;
}
