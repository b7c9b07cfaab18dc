import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface RecordedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: any;
}

export type Reply =
  | { content: string }
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { hang: true };

/**
 * A local server speaking the OpenAI chat-completions API: records every request and answers
 * with whatever the test's `reply` decides (content, an HTTP error, or no answer at all).
 */
export async function startOpenAiStandIn(reply: (req: RecordedRequest) => Reply): Promise<{ url: string; requests: RecordedRequest[]; setReply(fn: (req: RecordedRequest) => Reply): void; close(): Promise<void> }> {
  const requests: RecordedRequest[] = [];
  let decide = reply;
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => { raw += c; });
    req.on('end', () => {
      const rec: RecordedRequest = { path: req.url ?? '', headers: req.headers, body: raw ? JSON.parse(raw) : null };
      requests.push(rec);
      const r = decide(rec);
      if ('hang' in r) { hanging.add(res); return; }
      if ('status' in r) {
        res.writeHead(r.status, { 'content-type': 'application/json', ...(r.headers ?? {}) });
        res.end(JSON.stringify(r.body ?? { error: { message: 'stand-in error', type: 'server_error' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        id: 'chatcmpl-standin', object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: rec.body?.model ?? 'x',
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: r.content } }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}/v1`,
    requests,
    setReply(fn) { decide = fn; },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
