/**
 * Message templates: `{name}` placeholders filled in at send time. Pure functions, so anything
 * may use them (the loader checks templates with templateVariables, the engine renders them).
 */
import type { CourseConfig } from './types.js';

/** Variables every template may use; features add their own (Feature.templateVars). */
export const CORE_TEMPLATE_VARS = [
  'name',
  'group',
  'course',
  'bot',
  'stage',
  // the private channel (docs/wechat.md, docs/telegram.md)
  'open_channel',
  'start_link',
] as const;

/** `{name}` placeholders of a template; `{{` and `}}` are literal braces. */
export function templateVariables(text: string): string[] {
  return [...text.replace(/\{\{|\}\}/g, '').matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!);
}

/** Fills a template's `{var}` placeholders; a missing value renders as empty text. */
export function renderTemplate(text: string, vars: Record<string, string>): string {
  return text.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (m, name: string | undefined) => (m === '{{' ? '{' : m === '}}' ? '}' : (vars[name!] ?? '')));
}

/** Renders a template outside a member's context (course-wide variables plus `vars`). */
export function renderFor(ctx: { config: CourseConfig }, template: string, vars: Record<string, string>): string {
  const { config } = ctx;
  return renderTemplate(config.templates[template]!, { ...config.values, course: config.course.name, bot: config.course.bot_name, ...vars });
}

/**
 * Fills the course values (`{product.python-vip.price}`, Feature.courseValues) in a text that is
 * not a template, such as an FAQ answer: every other brace stays as written, so an answer that
 * shows `d = {'a': 1}` is not emptied.
 */
export function fillCourseValues(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/\{([^{}]*)\}/g, (m, name: string) => values[name] ?? m);
}

/** Names in a text that look like course values (`{word.word…}`): what an FAQ answer is checked for. */
export function courseValueNames(text: string): string[] {
  return [...text.matchAll(/\{([a-z_]+(?:\.[\w-]+)+)\}/g)].map((m) => m[1]!);
}
