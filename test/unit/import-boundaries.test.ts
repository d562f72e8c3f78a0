// The lint rule that keeps the services apart (eslint.config.js, fineprint/import-boundaries): a
// service imports shared/ and itself only, shared/ imports no service, and only the all-in-one and
// the CLI import the roles. Linted through the project's own ESLint configuration.
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../shared/paths.js';

const eslint = new ESLint({ cwd: PACKAGE_ROOT });

async function boundaryErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(PACKAGE_ROOT, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'fineprint/import-boundaries').map((m) => m.message);
}

describe('import boundaries', () => {
  it('refuses a service importing another service, whatever the form of the import', async () => {
    expect(await boundaryErrors('services/collector/run.ts', "import { compileKb } from '../classifier/match.js';\nexport { compileKb };\n")).toEqual([
      'services/collector may not import services/classifier: move what both need to shared/.',
    ]);
    expect(await boundaryErrors('services/classifier/sinks/kafka.ts', "export * from '../../collector/index.js';\n")).toHaveLength(1);
    expect(await boundaryErrors('services/api/run.ts', "export type { Finding } from '../audit/index.js';\n")).toHaveLength(1);
    expect(await boundaryErrors('services/audit/cli.ts', "await import('../api/index.js');\n")).toHaveLength(1);
  });

  it('refuses shared/ importing a service, and a role importing an assembly', async () => {
    expect(await boundaryErrors('shared/kb/load.ts', "import '../../services/classifier/index.js';\n")).toEqual([
      'shared may not import services/classifier: move what both need to shared/.',
    ]);
    expect(await boundaryErrors('services/api/index.ts', "import '../all-in-one/run.js';\n")).toHaveLength(1);
    expect(await boundaryErrors('services/all-in-one/run.ts', "import '../cli/main.js';\n")).toHaveLength(1);
  });

  it('lets services import shared/ and themselves, and the assemblies import the roles', async () => {
    expect(await boundaryErrors('services/collector/sources/kmsg.ts', "import '../../../shared/kmsg/record.js';\nimport '../batcher.js';\n")).toEqual([]);
    expect(await boundaryErrors('shared/store/sqlite.ts', "import '../kb/load.js';\n")).toEqual([]);
    expect(
      await boundaryErrors('services/all-in-one/run.ts', "import '../collector/index.js';\nimport '../classifier/index.js';\nimport '../api/index.js';\n"),
    ).toEqual([]);
    expect(await boundaryErrors('services/cli/main.ts', "import '../all-in-one/run.js';\nimport '../audit/cli.js';\n")).toEqual([]);
  });
});
