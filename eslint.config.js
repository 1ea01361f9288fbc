// ESLint 9 flat config with typescript-eslint 8. `npm run lint` runs it over the whole project.
// @eslint/js ships with eslint itself, so nothing here needs installing beyond the devDependencies.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Node globals for the plain .js/.mjs files (TypeScript files get theirs from @types/node). */
const nodeGlobals = Object.fromEntries(
  [
    'process', 'console', 'Buffer', 'URL', 'URLSearchParams', 'AbortController', 'AbortSignal', 'fetch',
    'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate',
    'queueMicrotask', 'structuredClone', 'performance', 'TextEncoder', 'TextDecoder',
  ].map((name) => [name, 'readonly']),
);

// DESIGN.md principle 1: adapters normalise, flows never import a platform SDK (or the DB
// driver: flows go through src/store). Type-only imports are refused too.
const platformImports = {
  patterns: [
    {
      // wechaty, wechaty/impls, wechaty-puppet*, grammy, grammy/types, @grammyjs/*, better-sqlite3
      regex: '^(wechaty|wechaty-[^/]+|grammy|@grammyjs/[^/]+|better-sqlite3)(/.*)?$',
      message: 'src/core and src/flows stay platform-neutral: use ChatEvent/OutgoingMessage (src/bot/events.ts) and src/store, not a platform SDK or the DB driver.',
    },
    {
      // ../bot/wechaty-adapter.js, ../bot/telegram-adapter.js, ../../src/bot/wechaty-adapter.js, ...
      regex: '(^|/)bot/(wechaty|telegram)-adapter[^/]*$',
      message: 'src/core and src/flows must not import a platform adapter: flows see only ChatEvent and write to the outbox.',
    },
  ],
};

export default defineConfig(
  { ignores: ['node_modules/', 'dist/', 'data/', 'scratch/', 'test-artifacts/', 'coverage/', 'reports/', '.stryker-tmp/', 'stryker-setup-*.js'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: nodeGlobals },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { ...nodeGlobals, module: 'writable', require: 'readonly' } },
  },
  {
    files: ['**/*.ts'],
    rules: {
      // `_name` marks a parameter a callback signature requires but the body does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['src/flows/**', 'src/core/**'],
    rules: { 'no-restricted-imports': ['error', platformImports] },
  },
  {
    // The pages' browser code (src/**/browser/, bundled by esbuild: src/web/browser-assets.ts) runs
    // in the visitor's browser: no Node globals or modules, no packages bundled in (a type from one
    // is fine: uPlot's, whose script the page loads itself).
    files: ['src/**/browser/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(?!\\.{1,2}/)', allowTypeImports: true, message: 'browser code imports only its own modules (./x.js): it is bundled into the page as it is.' }] },
      ],
      'no-restricted-globals': ['error', 'process', 'Buffer', 'require', 'module', '__dirname', '__filename', 'global', 'setImmediate'],
    },
  },
);
