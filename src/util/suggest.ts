/**
 * "Did you mean …?" for a misspelt name in config: a key, a template, a variable, a fact, an
 * action, a stage. The closest known name by edit distance (fastest-levenshtein), when it is close
 * enough to be a typo rather than another word.
 */
import { closest, distance } from 'fastest-levenshtein';
import type { z } from 'zod';

/**
 * `; did you mean "when"?` when one of `known` is within a typo of `word`, else ''.
 *
 * @example `unknown key "wehn"${didYouMean('wehn', ['on', 'when', 'do'])}` // unknown key "wehn"; did you mean "when"?
 */
export function didYouMean(word: string, known: Iterable<string>): string {
  const list = [...known].filter((k) => k !== word);
  if (list.length === 0 || word.length === 0) return '';
  const lower = word.toLowerCase();
  const sameCase = list.find((k) => k.toLowerCase() === lower);
  const best = sameCase ?? closest(word, list);
  // One edit in a name of up to 3 letters (`do` is not `on`), two in a longer one (a swap of
  // two letters counts two: `wehn` → `when`), a third of a long one.
  const allowed = word.length <= 3 ? 1 : Math.max(2, Math.floor(word.length / 3));
  return sameCase !== undefined || (distance(lower, best.toLowerCase()) <= allowed && best.length > 1) ? `; did you mean "${best}"?` : '';
}

/**
 * The keys a zod schema accepts for the object at `path` (numbers step into arrays, any key into
 * records): what an unrecognised key is compared with.
 */
export function knownKeys(schema: z.ZodType, path: (string | number)[]): string[] {
  let node: z.ZodType | undefined = schema;
  for (let i = 0; node && i <= path.length; ) {
    const def = (node as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'readonly':
      case 'catch':
        node = def.innerType as z.ZodType;
        continue;
      case 'pipe':
        node = def.in as z.ZodType;
        continue;
      case 'union': {
        const keys = (def.options as z.ZodType[]).flatMap((o) => knownKeys(o, path.slice(i)));
        return [...new Set(keys)];
      }
      case 'object': {
        const shape = def.shape as Record<string, z.ZodType>;
        if (i === path.length) return Object.keys(shape);
        node = shape[String(path[i])];
        i++;
        continue;
      }
      case 'record':
        if (i === path.length) return [];
        node = def.valueType as z.ZodType;
        i++;
        continue;
      case 'array':
        if (i === path.length) return [];
        node = def.element as z.ZodType;
        i++;
        continue;
      default:
        return [];
    }
  }
  return [];
}
