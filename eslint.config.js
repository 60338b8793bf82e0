// ESLint (flat config): the recommended JavaScript and typescript-eslint rules, without type information so that
// `npm run lint` stays a matter of seconds. Formatting is Prettier's job: eslint-config-prettier, last, turns off
// every rule the two could disagree on.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig([
  globalIgnores([
    'node_modules/',
    'dist/',
    'data/',
    'models/',
    '.cache/',
    'coverage/',
    'artifacts/',
    'bench/out/',
    'bench/data/',
    'test/fixtures/',
  ]),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // A leading underscore marks a binding kept on purpose: a rest sibling that leaves a field out of a copy
      // (`const { crc32: _written, ...older } = record`), a loop that only counts.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { globals: globals.node },
  },
  {
    // The playground's page runs in the browser.
    files: ['src/playground/public/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
  prettier,
]);
