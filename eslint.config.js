// Lint: ESLint's and typescript-eslint's recommended rules, with the type-aware ones
// (floating promises, unsafe any, misused promises) that catch what tsc does not.
// Formatting is Prettier's alone (eslint-config-prettier turns off rules that would fight it).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'src/gen/', 'bench-results/', 'scratch/', 'tmp/', 'screenshots/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'smart'],
      // Async handlers keep the contracts of Fastify, Kysely and node:test, awaiting or not.
      '@typescript-eslint/require-await': 'off',
      // node:test's describe/it return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
    },
  },
  {
    // A focused test would silently skip the rest of a suite: none lands.
    files: ['test/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        ...['describe', 'it', 'test', 'suite'].map((object) => ({
          object,
          property: 'only',
          message: 'no .only in tests',
        })),
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "Property[key.name='only'][value.value=true]", message: 'no { only: true } in tests' },
      ],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: globals.node } },
  // The web console runs in browsers.
  { files: ['web/**/*.ts'], languageOptions: { globals: globals.browser } },
  prettier,
);
