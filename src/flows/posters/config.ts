/**
 * The `poster:` section of kequn.yaml (docs/posters.md): how a member's referral poster looks and
 * what it says. Checked at load with file:line: the layout is one of three, colours are colours,
 * the lines use only the variables a poster fills in (course values are checked once the whole
 * course is loaded, in checkPosterValues).
 */
import { z } from 'zod';
import { section, type CourseCheck } from '../../core/feature.js';
import { courseValueNames, templateVariables } from '../../core/templates.js';
import type { CourseConfig } from '../../core/types.js';
import { didYouMean } from '../../util/suggest.js';
import { POSTER_LAYOUTS } from './model.js';

declare module '../../core/types.js' {
  interface CourseConfig {
    /** The referral poster's template (defaults when kequn.yaml has no `poster:`). */
    poster: PosterConfig;
  }
}

/** What a poster's texts may name besides course values (`{referral.discount}`). */
export const POSTER_VARIABLES = ['name', 'course', 'bot', 'referral_code'] as const;

const colour = z.string().regex(/^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/, 'expected a colour like "#1f4e79" (# and 3 or 6 hex digits)');
/** One line of the poster: short, it must fit in two lines of big type. */
const line = z.string().max(40, 'a poster line holds at most 40 characters');

export const posterSchema = z
  .strictObject({
    /** classic: centred on the colour; card: a white card on it; banner: a coloured band on top. */
    layout: z.enum(POSTER_LAYOUTS as [string, ...string[]]).default('classic'),
    background: colour.default('#1f4e79'),
    /** The text's colour on the background (classic, banner's band). */
    color: colour.default('#ffffff'),
    /** The referral code's and the rule's colour. */
    accent: colour.default('#ffd166'),
    title: line.default('{course}'),
    /** The selling line under the title. */
    tagline: line.default(''),
    /** Lines about the member; the default names them. */
    lines: z.array(line).max(4).default(['{name} 邀请你一起学习']),
    footer: line.default('扫码加入，和我一起学'),
    /**
     * What the QR code holds, when the course has a page of its own for newcomers (e.g.
     * "https://example.com/join?ref={referral_code}"). Absent: on Telegram the bot's link that
     * carries the code (t.me/<bot>?start=ref-<code>); on WeChat the words 「推荐码 <code>」.
     */
    link: z.string().trim().min(1).max(300).nullable().default(null),
    /** Sent as text with the poster. */
    caption: z.string().max(500).default('这是你的专属海报，长按保存后发给朋友或朋友圈吧！朋友扫码或说出你的推荐码就算你推荐的。'),
    /** Posters one member may ask for in a day (drawing takes CPU). */
    daily_limit: z.number().int().min(1).max(50).default(5),
  })
  .default({
    layout: 'classic',
    background: '#1f4e79',
    color: '#ffffff',
    accent: '#ffd166',
    title: '{course}',
    tagline: '',
    lines: ['{name} 邀请你一起学习'],
    footer: '扫码加入，和我一起学',
    link: null,
    caption: '这是你的专属海报，长按保存后发给朋友或朋友圈吧！朋友扫码或说出你的推荐码就算你推荐的。',
    daily_limit: 5,
  });

export type PosterConfig = z.output<typeof posterSchema> & { layout: (typeof POSTER_LAYOUTS)[number] };

/** The poster's texts, by key path under `poster:`. */
function texts(p: PosterConfig): [(string | number)[], string][] {
  return [
    [['title'], p.title],
    [['tagline'], p.tagline],
    ...p.lines.map((l, i): [(string | number)[], string] => [['lines', i], l]),
    [['footer'], p.footer],
    [['caption'], p.caption],
    ...(p.link !== null ? [[['link'], p.link] as [(string | number)[], string]] : []),
  ];
}

/** kequn.yaml's `poster:`: variables that are not a poster's (course values wait for checkPosterValues). */
export const posterSection = section({
  key: 'poster',
  as: 'poster',
  schema: posterSchema,
  resolve(raw, ctx) {
    const p = raw as PosterConfig;
    for (const [path, text] of texts(p)) {
      for (const name of templateVariables(text)) {
        if (name.includes('.') || (POSTER_VARIABLES as readonly string[]).includes(name)) continue;
        ctx.file.problem(['poster', ...path], `unknown variable {${name}}${didYouMean(name, POSTER_VARIABLES)} (a poster may name ${POSTER_VARIABLES.map((v) => `{${v}}`).join(', ')} and course values such as {referral.discount})`);
      }
    }
    if (p.link !== null && !/^https?:\/\//i.test(p.link)) ctx.file.problem(['poster', 'link'], 'the QR code\'s link must start with http:// or https://');
    return p;
  },
});

/** Course values a poster names must exist (known once every feature's values are in). */
export function checkPosterValues(config: CourseConfig, check: CourseCheck): void {
  const names = Object.keys(config.values);
  for (const [path, text] of texts(config.poster)) {
    for (const name of courseValueNames(text)) {
      if (!(name in config.values)) check.problem('kequn.yaml', ['poster', ...path], `unknown course value {${name}}${didYouMean(name, names)} (course values: ${names.join(', ') || 'none'})`);
    }
  }
}
