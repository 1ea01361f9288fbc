/**
 * The posters' drawing process (started by renderer.ts): satori, resvg and the font subsets live
 * here, not in the bot's process, so all of their memory is returned when it exits. One message
 * per poster over the IPC channel: { id, content, style } in, { id, png } or { id, error } out.
 * It exits when the bot goes (the channel closes) or tells it to.
 */
import { renderPoster, type PosterContent, type PosterStyle } from './render.js';

export interface RenderRequest {
  id: number;
  content: PosterContent;
  style: PosterStyle;
}

export type RenderReply = { id: number; png: Uint8Array } | { id: number; error: string };

if (process.send) {
  const send = (reply: RenderReply) => process.send?.(reply);
  process.on('message', (req: RenderRequest) => {
    renderPoster(req.content, req.style).then(
      (png) => send({ id: req.id, png: new Uint8Array(png.buffer, png.byteOffset, png.byteLength) }),
      (e: unknown) => send({ id: req.id, error: e instanceof Error ? e.message : String(e) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
