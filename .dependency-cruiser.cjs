/**
 * The house's layering, checked by `npm run lint` (dependency-cruiser; docs/architecture.md):
 * no import circle (type imports included), the engine core, the store and the config loader
 * import no feature, and a feature reaches another only through a service (a feature may import
 * another's public types, its contracts.ts, and nothing else of it).
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import circle (type imports included) makes modules load half-done and the house hard to change.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-imports-no-feature',
      comment: 'src/core is the engine every feature builds on; it learns of features only through the registry (src/core/feature.ts).',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/flows/' },
    },
    {
      name: 'store-and-config-import-no-feature',
      comment: 'The store keeps the core tables and the loader composes the sections features declare: neither knows a feature.',
      severity: 'error',
      from: { path: '^src/(store|config)/' },
      to: { path: '^src/flows/' },
    },
    {
      name: 'platforms-and-shell-import-no-feature',
      comment: 'Adapters, the outbox and the web shell work for every feature; the features plug in through the registry.',
      severity: 'error',
      from: { path: '^src/(bot|web|util)/' },
      to: { path: '^src/flows/' },
    },
    {
      name: 'no-feature-internals',
      comment: 'A feature reaches another only through a service it declares it needs (ctx.services.x); it may import the other\'s public types (contracts.ts), type-only.',
      severity: 'error',
      from: { path: '^src/flows/([^/]+)/' },
      to: {
        path: '^src/flows/([^/]+)/',
        pathNot: ['^src/flows/$1/', '^src/flows/[^/]+/contracts\\.ts$'],
      },
    },
    {
      name: 'contracts-type-only',
      comment: 'Another feature\'s contracts are types: no code of one feature runs inside another.',
      severity: 'error',
      from: { path: '^src/flows/([^/]+)/' },
      to: { path: '^src/flows/[^/]+/contracts\\.ts$', pathNot: '^src/flows/$1/', dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
  },
};
