/** catalog.yaml (docs/payments.md): products, coupons and the payment provider; optional. */
import type { SectionContext } from '../../config/section.js';
import { fileSection } from '../../core/feature.js';
import { catalogSchema, type CatalogFile } from './catalog-schema.js';
import { emptyCatalog, loadCatalog, type Catalog } from './catalog.js';

declare module '../../core/types.js' {
  interface CourseConfig {
    /** Products, coupons and payment settings from catalog.yaml (empty when the file does not exist). */
    catalog: Catalog;
  }
}

function resolveCatalog(raw: CatalogFile | undefined, ctx: SectionContext): Catalog {
  // A course that sells nothing has no catalog.yaml.
  if (!raw) return emptyCatalog();
  return loadCatalog(raw, { file: ctx.file, dir: ctx.dir, groups: ctx.main.groups, web: ctx.main.web, stageIds: ctx.stageIds, env: ctx.env });
}

/** catalog.yaml. */
export const catalogSection = fileSection({ key: 'catalog', file: 'catalog.yaml', as: 'catalog', schema: catalogSchema, resolve: resolveCatalog });
