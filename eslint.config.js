import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const ROOT = dirname(fileURLToPath(import.meta.url));

/** `shared`, `services/<name>`, or undefined for a file elsewhere (tests, scripts, bin). */
function moduleOf(file) {
  const [top, name] = relative(ROOT, file).split(sep);
  if (top === 'shared') return 'shared';
  if (top === 'services' && name) return `services/${name}`;
  return undefined;
}

const ROLES = ['services/collector', 'services/classifier', 'services/api', 'services/audit'];
/** What each assembly may import besides shared/ and itself: the roles it starts. */
const ASSEMBLIES = {
  'services/all-in-one': ROLES,
  'services/cli': [...ROLES, 'services/all-in-one'],
};

/**
 * Services depend on shared/ only, never on each other (what two of them need goes to shared/);
 * shared/ depends on no service. The all-in-one and the CLI assemble the roles.
 */
const importBoundaries = {
  meta: { type: 'problem', schema: [], messages: { sideways: '{{from}} may not import {{to}}: move what both need to shared/.' } },
  create(context) {
    const from = moduleOf(context.filename);
    if (!from) return {};
    const check = (node) => {
      const source = node.source;
      if (!source || source.type !== 'Literal' || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
      const to = moduleOf(resolve(dirname(context.filename), source.value));
      if (!to || to === from || to === 'shared') return;
      if (from !== 'shared' && ASSEMBLIES[from]?.includes(to)) return;
      context.report({ node: source, messageId: 'sideways', data: { from, to } });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.cache/**', 'coverage/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    files: ['services/**/*.{ts,js}', 'shared/**/*.{ts,js}'],
    plugins: { fineprint: { rules: { 'import-boundaries': importBoundaries } } },
    rules: { 'fineprint/import-boundaries': 'error' },
  },
  // The history page's ES modules run in the browser, shipped as written (services/api/web/).
  { files: ['services/api/web/**/*.js'], languageOptions: { globals: { ...globals.browser } } },
);
