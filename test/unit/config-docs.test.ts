// docs/configuration.md is generated from the options' zod schemas (`npm run docs:config`); this fails
// when the page drifts from them, and checks that every option says what it does.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CONFIG_COMMANDS, configDocsCurrent, describeOption, renderConfigDocs, undescribedOptions } from '../../services/cli/config-docs.js';
import { loadConfig } from '../../shared/config.js';
import { PACKAGE_ROOT } from '../../shared/paths.js';

const page = renderConfigDocs();
const row = (name: string): string => page.split('\n').find((line) => line.startsWith(`| \`${name}\` |`)) ?? '';

describe('docs/configuration.md is generated from the schemas and does not drift', () => {
  it('equals its rendering (run `npm run build && npm run docs:config` after changing an option)', () => {
    expect(configDocsCurrent(join(PACKAGE_ROOT, 'docs', 'configuration.md'), page), 'docs/configuration.md drifted: run `npm run build && npm run docs:config`').toBe(true);
  });

  it('every option of every command has a description', () => {
    expect(undescribedOptions()).toEqual([]);
  });

  it('lists each option once, with every command that reads it', () => {
    const names = new Set(CONFIG_COMMANDS.flatMap((c) => Object.keys(c.shape)));
    for (const name of names) expect(page.split('\n').filter((line) => line.startsWith(`| \`${name}\` |`))).toHaveLength(1);
    expect(row('DOCKER_HOST')).toContain('`start`, `collector`, `audit`, `demo`');
    expect(row('FINEPRINT_KAFKA_BROKERS')).toMatch(/\| required \|.*`collector`, `classifier`, `api` \|/);
  });

  it('says nothing that depends on the machine that rendered it', () => {
    expect(page).not.toContain(PACKAGE_ROOT);
    expect(page).not.toContain(`\`${hostname()}\``);
    expect(row('FINEPRINT_HOST_NAME')).toContain("this machine's host name");
  });
});

describe('what an option says', () => {
  it('renders defaults as the user writes them, and per command where they differ', () => {
    expect(row('FINEPRINT_RESOLVE_AFTER')).toContain('| `30m` | duration: `500ms`, `30s`, `5m`, `2h` |');
    expect(row('FINEPRINT_STATUS_PORT')).toContain('`7778` (`collector`); `7779` (`classifier`)');
    expect(row('FINEPRINT_API_PORT')).toContain('| `7777` | integer, 0 to 65535 |');
    expect(row('FINEPRINT_LOG_LEVEL')).toContain('`fatal`, `error`, `warn`, `info`, `debug`, `trace`');
    expect(row('FINEPRINT_READ_TOKENS')).toContain('| none |');
  });

  it('a prefault default parses to what the option held before (a duration in ms)', () => {
    const config = loadConfig(CONFIG_COMMANDS[0]!.shape, {});
    expect(config).toMatchObject({ FINEPRINT_RESOLVE_AFTER: 1_800_000, FINEPRINT_REOPEN_WINDOW: 3_600_000, FINEPRINT_MERGE_WINDOW: 60_000 });
  });

  it('a new option without a description is reported', () => {
    const shape = { FINEPRINT_NEW: z.string().default('x') };
    expect(describeOption('FINEPRINT_NEW', shape.FINEPRINT_NEW).description).toBeUndefined();
    expect(undescribedOptions([{ command: 'start', shape }])).toEqual(['start: FINEPRINT_NEW']);
  });
});
