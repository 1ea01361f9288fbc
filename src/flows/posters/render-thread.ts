/**
 * The posters' drawing thread (started by renderer.ts): satori, resvg and the font subsets live
 * here, not in the bot's own heap, so they are gone when the thread is ended. One message per
 * poster: { id, content, style } in, { id, png } or { id, error } out (the PNG's bytes moved,
 * not copied).
 */
import { parentPort } from 'node:worker_threads';
import { renderPoster, type PosterContent, type PosterStyle } from './render.js';

export interface RenderRequest {
  id: number;
  content: PosterContent;
  style: PosterStyle;
}

export type RenderReply = { id: number; png: Uint8Array } | { id: number; error: string };

const port = parentPort;
if (port) {
  port.on('message', (req: RenderRequest) => {
    renderPoster(req.content, req.style).then(
      (png) => {
        // A view on the PNG's own bytes (resvg's buffer is not pooled): moved to the bot.
        const bytes = new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
        const reply: RenderReply = { id: req.id, png: bytes };
        port.postMessage(reply, png.byteOffset === 0 && png.byteLength === png.buffer.byteLength ? [png.buffer as ArrayBuffer] : []);
      },
      (e: unknown) => port.postMessage({ id: req.id, error: e instanceof Error ? e.message : String(e) } satisfies RenderReply),
    );
  });
}
