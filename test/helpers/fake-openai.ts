/**
 * A fake OpenAI-compatible endpoint on 127.0.0.1 for tests: answers POST /v1/chat/completions with
 * whatever the test queued (a completion text, an HTTP error, a hang), and POST /v1/embeddings with
 * vectors from `vectorOf` (by default character bigrams hashed into `dims` numbers), or the broken
 * reply the test asks for; records every request.
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
  /** Every /embeddings request: the model and the texts. */
  embedRequests: { model: string; input: string[] }[];
  /** How /embeddings answers: vectors, an HTTP error, vectors of mixed sizes, or one vector too few. */
  embedReply: 'ok' | 'mixed-sizes' | 'too-few' | { status: number; error: string };
  dims: number;
  /** The vector of a text (tests replace it to make two texts close). */
  vectorOf: (text: string, dims: number) => number[];
  close(): Promise<void>;
}

/** Character bigrams (and characters) hashed into `dims` counts: similar texts, similar vectors. */
export function hashedVector(text: string, dims: number): number[] {
  const v = new Array<number>(dims).fill(0);
  const t = text.toLowerCase().replace(/\s+/g, '');
  const add = (s: string) => {
    let h = 2166136261;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
    v[h % dims]! += 1;
  };
  for (let i = 0; i < t.length; i++) {
    add(t[i]!);
    if (i + 1 < t.length) add(t.slice(i, i + 2));
  }
  return v;
}

export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  const hung: (() => void)[] = [];
  const fake: Omit<FakeOpenAI, 'baseURL' | 'close'> = {
    requests: [],
    queue: [],
    fallback: { completion: '{"answer": null}' },
    embedRequests: [],
    embedReply: 'ok',
    dims: 32,
    vectorOf: hashedVector,
  };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/embeddings') {
        const body = JSON.parse(raw) as { model: string; input: string | string[] };
        const input = typeof body.input === 'string' ? [body.input] : body.input;
        fake.embedRequests.push({ model: body.model, input });
        const r = fake.embedReply;
        if (typeof r === 'object') {
          res.writeHead(r.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: r.error, type: 'test' } }));
          return;
        }
        let vectors = input.map((t) => fake.vectorOf(t, fake.dims));
        if (r === 'mixed-sizes') vectors = vectors.map((v, i) => (i % 2 ? v.slice(0, fake.dims - 1) : v));
        if (r === 'too-few') vectors = vectors.slice(1);
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({ object: 'list', model: body.model, data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })), usage: { prompt_tokens: 1, total_tokens: 1 } }),
        );
        return;
      }
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
