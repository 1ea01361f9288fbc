import type { MainConfig } from './schema.js';
import type { YamlFile } from './yaml-file.js';

/**
 * What a feature's section resolver (ConfigSection.resolve) works with: the core's part of
 * kequn.yaml as parsed, the templates, and where to report a problem. A problem is reported at
 * its key path in the section's file (kequn.yaml, or the feature's own file), so `kequn check`
 * prints file:line and the key.
 */
export interface SectionContext {
  /** kequn.yaml as parsed: the core's sections typed, the features' as they came. */
  main: MainConfig & Record<string, unknown>;
  templates: Record<string, string>;
  stageIds: string[];
  /** The course folder (absolute): files a section names are read from here. */
  dir: string;
  env: NodeJS.ProcessEnv;
  /** The section's file: kequn.yaml, or the feature's own (catalog.yaml). */
  file: YamlFile;
  /** templates.yaml, for problems about a template the section needs. */
  templatesFile: YamlFile;
}
