/**
 * What a poster is, without the renderer: its size, layouts and content. Kept apart from
 * render.ts so that loading kequn (the config check, every CLI command) does not load satori and
 * resvg; they are imported when the first poster is drawn.
 */

export const POSTER_WIDTH = 750;
export const POSTER_HEIGHT = 1334;
/** Changes whenever the drawing changes, so cached posters are drawn again. */
export const RENDER_VERSION = 1;

export type PosterLayout = 'classic' | 'card' | 'banner';
export const POSTER_LAYOUTS: readonly PosterLayout[] = ['classic', 'card', 'banner'];

/** What a poster says, every template already filled in. */
export interface PosterContent {
  /** The course's title (big). */
  title: string;
  /** The selling line under it. */
  tagline: string;
  /** Lines about the member (the default: 「{name} 邀请你一起学习」). */
  lines: string[];
  /** The member's referral code, shown under the QR code. */
  code: string;
  /** What the QR code holds: the member's invite link. */
  link: string;
  /** The small print at the bottom (how the newcomer benefits). */
  footer: string;
}

export interface PosterStyle {
  layout: PosterLayout;
  /** CSS colours, checked at load (#rgb or #rrggbb). */
  background: string;
  color: string;
  accent: string;
}
