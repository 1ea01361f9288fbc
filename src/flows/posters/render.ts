/**
 * Draws a referral poster: satori lays out the text and shapes (an element tree, as HTML and
 * flexbox would) into SVG with the glyphs as paths, resvg turns the SVG into a PNG, and the QR
 * code is drawn from the qrcode package's matrix as SVG squares. Pure: the same content and style
 * always give the same PNG bytes (what the cache's content hash relies on).
 */
import { Resvg } from '@resvg/resvg-js';
import QRCode from 'qrcode';
import satori from 'satori';
import { fontsFor, type PosterFont } from './fonts.js';
import { POSTER_HEIGHT, POSTER_WIDTH, type PosterContent, type PosterLayout, type PosterStyle } from './model.js';

export { POSTER_HEIGHT, POSTER_LAYOUTS, POSTER_WIDTH, RENDER_VERSION, type PosterContent, type PosterLayout, type PosterStyle } from './model.js';

// An element tree as satori takes it (what JSX would build).
interface Node {
  type: string;
  props: Record<string, unknown> & { style?: Record<string, unknown>; children?: Node | string | (Node | string)[] };
}

function div(style: Record<string, unknown>, children?: Node['props']['children']): Node {
  return { type: 'div', props: { style: { display: 'flex', ...style }, children } };
}

function text(s: string, style: Record<string, unknown>): Node {
  // Text in its own box that wraps within the poster's width, centred.
  return div({ textAlign: 'center', justifyContent: 'center', width: '100%', ...style }, s);
}

/**
 * The QR code of `link` as an SVG image, drawn from the matrix (dark modules as black squares, a
 * quiet zone of 2 modules on white). Error correction M: readable with the poster shared as a
 * compressed photo.
 */
export function qrImage(link: string, size: number): Node {
  const qr = QRCode.create(link, { errorCorrectionLevel: 'M' });
  const n = qr.modules.size;
  const q = 2;
  let path = '';
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) if (qr.modules.get(y, x)) path += `M${x + q} ${y + q}h1v1h-1z`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${n + 2 * q} ${n + 2 * q}" shape-rendering="crispEdges"><rect width="100%" height="100%" fill="#fff"/><path d="${path}" fill="#000"/></svg>`;
  return { type: 'img', props: { src: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`, width: size, height: size } };
}

function memberLines(c: PosterContent, color: string): Node[] {
  return c.lines.map((l) => text(l, { fontSize: 34, color, marginTop: 14 }));
}

function codeBlock(c: PosterContent, color: string, accent: string): Node[] {
  return [text(`推荐码 ${c.code}`, { fontSize: 40, fontWeight: 700, color: accent, marginTop: 28, letterSpacing: 2 }), text(c.footer, { fontSize: 28, color, marginTop: 14 })];
}

/** Centred on the background colour: title, selling line, the member, the QR code, the code. */
function classic(c: PosterContent, s: PosterStyle): Node {
  return div({ width: '100%', height: '100%', flexDirection: 'column', alignItems: 'center', justifyContent: 'center', background: s.background, color: s.color, padding: '80px 60px' }, [
    text(c.title, { fontSize: 56, fontWeight: 700, lineHeight: 1.25 }),
    text(c.tagline, { fontSize: 32, marginTop: 24, opacity: 0.9 }),
    div({ width: 120, height: 6, background: s.accent, marginTop: 48, marginBottom: 40, borderRadius: 3 }),
    ...memberLines(c, s.color),
    div({ marginTop: 44, padding: 16, background: '#fff', borderRadius: 16 }, [qrImage(c.link, 340)]),
    ...codeBlock(c, s.color, s.accent),
  ]);
}

/** A white card on the background colour, dark text, the title in the accent colour. */
function card(c: PosterContent, s: PosterStyle): Node {
  const ink = '#222';
  return div({ width: '100%', height: '100%', alignItems: 'center', justifyContent: 'center', background: s.background, padding: 50 }, [
    div({ width: '100%', flexDirection: 'column', alignItems: 'center', background: '#fff', borderRadius: 32, padding: '70px 50px', color: ink }, [
      text(c.title, { fontSize: 56, fontWeight: 700, color: s.background, lineHeight: 1.25 }),
      text(c.tagline, { fontSize: 30, marginTop: 20, color: '#555' }),
      div({ width: '100%', height: 2, background: '#eee', marginTop: 40, marginBottom: 30 }),
      ...memberLines(c, ink),
      div({ marginTop: 36 }, [qrImage(c.link, 320)]),
      ...codeBlock(c, '#555', s.background),
    ]),
  ]);
}

/** A band of the background colour with the title, the rest white with the QR code beside the code. */
function banner(c: PosterContent, s: PosterStyle): Node {
  const ink = '#222';
  return div({ width: '100%', height: '100%', flexDirection: 'column', background: '#fff', color: ink }, [
    div({ height: 620, flexDirection: 'column', justifyContent: 'center', alignItems: 'center', background: s.background, color: s.color, padding: '60px 50px' }, [
      text(c.title, { fontSize: 56, fontWeight: 700, lineHeight: 1.25 }),
      text(c.tagline, { fontSize: 34, marginTop: 28, opacity: 0.9 }),
    ]),
    div({ flexDirection: 'column', alignItems: 'center', padding: '50px 50px 0' }, memberLines(c, ink)),
    div({ flexGrow: 1, alignItems: 'center', justifyContent: 'center', padding: '0 50px 40px' }, [
      qrImage(c.link, 300),
      div({ flexDirection: 'column', marginLeft: 36, maxWidth: 300 }, [
        div({ fontSize: 30, color: '#555' }, '推荐码'),
        div({ fontSize: 52, fontWeight: 700, color: s.background, letterSpacing: 2, marginTop: 6 }, c.code),
        div({ fontSize: 26, color: '#555', marginTop: 18 }, c.footer),
      ]),
    ]),
  ]);
}

/** Every character a poster draws (what its fonts must hold). */
export function posterText(c: PosterContent): string {
  return [c.title, c.tagline, ...c.lines, `推荐码 ${c.code}`, c.footer].join('');
}

const LAYOUTS: Record<PosterLayout, (c: PosterContent, s: PosterStyle) => Node> = { classic, card, banner };

/**
 * The poster as a PNG of POSTER_WIDTH × POSTER_HEIGHT, in the fonts that hold its text (`fonts`:
 * others, for the benchmark's whole-font baseline).
 *
 * @example const png = await renderPoster({ title: 'Python 入门', tagline: '…', lines: ['小明 邀请你一起学习'], code: 'K7M2XQ', link: 'https://t.me/bot?start=ref-K7M2XQ', footer: '' }, { layout: 'classic', background: '#1f4e79', color: '#fff', accent: '#ffd166' });
 */
export async function renderPoster(c: PosterContent, s: PosterStyle, fonts?: PosterFont[]): Promise<Buffer> {
  const tree = div({ width: POSTER_WIDTH, height: POSTER_HEIGHT, fontFamily: 'Noto Sans SC' }, [LAYOUTS[s.layout](c, s)]);
  // satori's types want a React element; the tree has that shape.
  const svg = await satori(tree as unknown as Parameters<typeof satori>[0], { width: POSTER_WIDTH, height: POSTER_HEIGHT, fonts: fonts ?? fontsFor(posterText(c)) });
  return new Resvg(svg, { fitTo: { mode: 'original' }, font: { loadSystemFonts: false } }).render().asPng();
}
