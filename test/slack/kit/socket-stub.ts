import { randomUUID } from 'node:crypto';
import * as wsModule from 'ws';

// The installed @types/ws (6.x, pulled in by @slack/socket-mode) predates ws 8's named exports.
interface Sock { send(data: string): void; terminate(): void; on(ev: string, fn: (arg: unknown) => void): void }
interface Server { once(ev: string, fn: () => void): void; on(ev: 'connection', fn: (ws: Sock) => void): void; address(): unknown; close(cb: () => void): void }
type ServerClass = new (o: { host: string; port: number }) => Server;
const ws = wsModule as unknown as { WebSocketServer?: ServerClass; Server?: ServerClass; default?: { WebSocketServer?: ServerClass; Server?: ServerClass } };
const WebSocketServer = (ws.WebSocketServer ?? ws.Server ?? ws.default?.WebSocketServer ?? ws.default?.Server)!;

/**
 * A stand-in for Slack's Socket Mode endpoint: says hello, pushes envelopes (events_api,
 * interactive, slash_commands) and records the acks the app sends back.
 */
export class SocketModeStub {
  private wss: Server | null = null;
  private readonly sockets = new Set<Sock>();
  readonly acks: { envelope_id: string; payload?: unknown }[] = [];
  url = '';

  async start(): Promise<string> {
    this.wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => this.wss!.once('listening', () => r()));
    this.wss.on('connection', (ws) => {
      this.sockets.add(ws);
      ws.on('close', () => this.sockets.delete(ws));
      ws.on('message', (raw) => { try { this.acks.push(JSON.parse(String(raw))); } catch { /* not JSON */ } });
      ws.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'stub' }, connection_info: { app_id: 'A0001' } }));
    });
    this.url = `ws://127.0.0.1:${(this.wss.address() as { port: number }).port}/link`;
    return this.url;
  }

  get connected(): number {
    return this.sockets.size;
  }

  /** Pushes one envelope to every connected client; returns its envelope_id. */
  send(type: 'events_api' | 'interactive' | 'slash_commands', payload: Record<string, unknown>): string {
    const envelope_id = randomUUID();
    const msg = JSON.stringify({ envelope_id, type, payload, accepts_response_payload: type !== 'events_api', retry_attempt: 0, retry_reason: '' });
    for (const s of this.sockets) s.send(msg);
    return envelope_id;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.terminate();
    if (this.wss) await new Promise<void>((r) => this.wss!.close(() => r()));
    this.wss = null;
  }
}
