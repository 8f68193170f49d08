// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Imports a folder may never make (see the README's Design section). */
const nodeBuiltins = [
  'node:*',
  'fs',
  'path',
  'os',
  'child_process',
  'crypto',
  'stream',
  'zlib',
  'url',
  'util',
  'events',
  'http',
  'https',
  'net',
];
const restrict = (patterns, message) => ({
  'no-restricted-imports': ['error', { patterns: patterns.map((group) => ({ group: [group], message })) }],
});

export default tseslint.config(
  { ignores: ['dist/', 'release/', 'node_modules/', 'coverage/', 'test-results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', '*.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: 'error',
    },
  },
  {
    files: ['shared/**/*.ts'],
    rules: restrict(
      ['electron', ...nodeBuiltins, '**/main/**', '**/renderer/**', '../main/*', '../renderer/*'],
      'shared/ runs anywhere: no Node, no DOM, no electron, no main/ or renderer/',
    ),
  },
  {
    files: ['main/services/**/*.ts'],
    rules: restrict(
      ['electron', '**/app/**', '**/cli/**', '**/renderer/**'],
      'services are plain Node: no electron, no front ends',
    ),
  },
  {
    files: ['main/cli/**/*.ts'],
    rules: restrict(
      ['electron', '**/app/**', '**/renderer/**'],
      'the CLI must not depend on electron, the app or the renderer',
    ),
  },
  {
    files: ['main/app/**/*.ts'],
    rules: restrict(['**/renderer/**', '**/cli/**'], 'the Electron main process talks to the renderer over IPC only'),
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    rules: restrict(
      ['electron', ...nodeBuiltins, '**/main/**'],
      'the renderer runs in the browser: shared/ and the DOM only',
    ),
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      // expect.any(...) and friends are typed any; test doubles are often async without awaiting.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['*.js', '*.mjs', 'scripts/*.mjs', '*.config.ts'],
    ...tseslint.configs.disableTypeChecked,
  },
);
