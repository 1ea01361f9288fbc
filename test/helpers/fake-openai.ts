/**
 * A fake OpenAI-compatible endpoint on 127.0.0.1 for tests: answers POST /v1/chat/completions with
 * whatever the test queued (a completion text, an HTTP error, a hang), and records every request.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeReply =
  | { completion: string; promptTokens?: number; completionTokens?: number }
  | { status: number; error: string; headers?: Record<string, string> }
  | { hang: true };

export interface FakeOpenAI {
  baseURL: string;
  requests: { auth: string | undefined; body: { model: string; messages: { role: string; content: string }[] } }[];
  /** Replies in order; when empty, `fallback` answers. */
  queue: FakeReply[];
  fallback: FakeReply;
  close(): Promise<void>;
}

export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  const hung: (() => void)[] = [];
  const fake: Omit<FakeOpenAI, 'baseURL' | 'close'> = { requests: [], queue: [], fallback: { completion: '{"answer": null}' } };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
        return;
      }
      fake.requests.push({ auth: req.headers.authorization, body: JSON.parse(raw) as FakeOpenAI['requests'][number]['body'] });
      const reply = fake.queue.shift() ?? fake.fallback;
      if ('hang' in reply) {
        hung.push(() => res.destroy());
        return;
      }
      if ('status' in reply) {
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers }).end(JSON.stringify({ error: { message: reply.error, type: 'test' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: `chatcmpl-${fake.requests.length}`,
          object: 'chat.completion',
          created: 0,
          model: 'fake',
          choices: [{ index: 0, message: { role: 'assistant', content: reply.completion }, finish_reason: 'stop' }],
          usage: { prompt_tokens: reply.promptTokens ?? 300, completion_tokens: reply.completionTokens ?? 50, total_tokens: (reply.promptTokens ?? 300) + (reply.completionTokens ?? 50) },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    baseURL: `http://127.0.0.1:${port}/v1`,
    close: async () => {
      for (const h of hung) h();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
