/**
 * Chinese type for posters: Noto Sans SC from the npm package @fontsource/noto-sans-sc, which
 * ships the font cut into about a hundred subsets by Unicode range (its CSS says which file holds
 * which characters). satori reads WOFF, not WOFF2, so the WOFF files are used; and only the
 * subsets the poster's text needs are read (about 40 KB each), once, then kept: a poster needs
 * 10-20 of them, not the whole 1.5 MB font for each weight.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type Weight = 400 | 700;

/** A font as satori takes it. */
export interface PosterFont {
  name: string;
  data: Buffer;
  weight: Weight;
  style: 'normal';
}

interface Subset {
  file: string;
  weight: Weight;
  ranges: [number, number][];
}

const WEIGHTS: readonly Weight[] = [400, 700];

let subsets: Subset[] | undefined;
const loaded = new Map<string, PosterFont>();

/** The package's folder (its CSS files sit at the top, the fonts under files/). */
function fontDir(): string {
  return dirname(createRequire(import.meta.url).resolve('@fontsource/noto-sans-sc/400.css'));
}

/**
 * The subsets of a weight's CSS: each @font-face names a WOFF file and its unicode-range.
 *
 * @example parseSubsets("…src: url(./files/a.woff2) format('woff2'), url(./files/a.woff) format('woff');\n unicode-range: U+4e00-4e10,U+3002;…", 400)
 * // [{ file: 'a.woff', weight: 400, ranges: [[0x4e00, 0x4e10], [0x3002, 0x3002]] }]
 */
export function parseSubsets(css: string, weight: Weight): Subset[] {
  const out: Subset[] = [];
  for (const face of css.split('@font-face').slice(1)) {
    const file = /url\(\.\/files\/([^)]+\.woff)\) format\('woff'\)/.exec(face)?.[1];
    const range = /unicode-range:\s*([^;]+);/.exec(face)?.[1];
    if (!file || !range) continue;
    const ranges = range.split(',').map((r): [number, number] => {
      const [a, b] = r.trim().replace(/^U\+/i, '').split('-');
      return [parseInt(a!, 16), parseInt(b ?? a!, 16)];
    });
    out.push({ file, weight, ranges });
  }
  return out;
}

function allSubsets(): Subset[] {
  if (subsets) return subsets;
  const dir = fontDir();
  // The Latin subset first: satori draws each character with the first font that has it.
  subsets = WEIGHTS.flatMap((w) => parseSubsets(readFileSync(join(dir, `${w}.css`), 'utf8'), w)).sort((a, b) => Number(b.file.includes('-latin-')) - Number(a.file.includes('-latin-')));
  if (subsets.length === 0) throw new Error(`posters: no font subsets found in ${dir} (is @fontsource/noto-sans-sc installed?)`);
  return subsets;
}

/**
 * The fonts that draw `text` in both weights: each subset holding one of its characters, read on
 * first use. Each gets a name of its own: satori falls back from font to font only across names.
 * Characters no subset has (a rare emoji) are drawn as satori's empty box.
 */
export function fontsFor(text: string): PosterFont[] {
  const codes = new Set<number>();
  for (const ch of text) codes.add(ch.codePointAt(0)!);
  const dir = fontDir();
  const out: PosterFont[] = [];
  for (const s of allSubsets()) {
    const needed = s.file.includes('-latin-') || [...codes].some((c) => s.ranges.some(([a, b]) => c >= a && c <= b));
    if (!needed) continue;
    // The same object each time: satori keeps a font it parsed by the object's identity, so a
    // subset is parsed once per process, not once per poster.
    let font = loaded.get(s.file);
    if (!font) loaded.set(s.file, (font = { name: s.file.replace(/\.woff$/, ''), data: readFileSync(join(dir, 'files', s.file)), weight: s.weight, style: 'normal' }));
    out.push(font);
  }
  return out;
}

/** How many subsets are held in memory, and their bytes (for the benchmark). */
export function loadedFontBytes(): { files: number; bytes: number } {
  let bytes = 0;
  for (const f of loaded.values()) bytes += f.data.length;
  return { files: loaded.size, bytes };
}

/**
 * The whole Chinese font in both weights (about 1.5 MB each) and the Latin subset: what drawing
 * without subsets would hold (the benchmark's baseline).
 */
export function wholeFonts(): PosterFont[] {
  const dir = fontDir();
  return (whole ??= WEIGHTS.flatMap((w) =>
    ['latin', 'chinese-simplified'].map((part): PosterFont => ({ name: `noto-sans-sc-${part}-${w}`, data: readFileSync(join(dir, 'files', `noto-sans-sc-${part}-${w}-normal.woff`)), weight: w, style: 'normal' })),
  ));
}

let whole: PosterFont[] | undefined;
