import OpenAI from 'openai';
import { DeskbridgeError } from '../domain/errors.js';

export type ChatMessage = { role: 'system' | 'user' | 'assistant'; content: string };

export interface ChatOptions {
  /** JSON schema for structured output (response_format json_schema). */
  jsonSchema?: { name: string; schema: Record<string, unknown> };
  temperature?: number;
  maxTokens?: number;
}

/**
 * One chat-completions call against any OpenAI-compatible endpoint, with every failure turned
 * into a DeskbridgeError a technician can read: RATE_LIMITED for 429, UNAVAILABLE for timeouts,
 * connection failures, provider errors and unusable answers. No automatic retries here: a
 * technician waiting on a draft gets an answer within the timeout; background callers retry.
 */
export class ChatClient {
  private readonly client: OpenAI;

  private readonly timeoutMs: number;

  constructor(readonly model: string, opts: { baseURL?: string; apiKey: string; timeoutMs: number }) {
    this.timeoutMs = opts.timeoutMs;
    this.client = new OpenAI({ baseURL: opts.baseURL, apiKey: opts.apiKey, timeout: opts.timeoutMs, maxRetries: 0 });
  }

  async complete(messages: ChatMessage[], opts: ChatOptions = {}): Promise<string> {
    let res: OpenAI.Chat.Completions.ChatCompletion;
    const started = Date.now();
    try {
      res = await this.client.chat.completions.create({
        model: this.model,
        messages,
        temperature: opts.temperature ?? 0.3,
        ...(opts.maxTokens ? { max_tokens: opts.maxTokens } : {}),
        ...(opts.jsonSchema
          ? { response_format: { type: 'json_schema', json_schema: { name: opts.jsonSchema.name, schema: opts.jsonSchema.schema, strict: true } } }
          : {}),
      });
    } catch (err) {
      // The abort of a timed-out fetch is not always recognised as a timeout (e.g. across VM
      // realms), so a connection error at the deadline counts as one.
      const timedOut = err instanceof OpenAI.APIConnectionError && Date.now() - started >= this.timeoutMs * 0.95;
      throw timedOut ? providerError(new OpenAI.APIConnectionTimeoutError()) : providerError(err);
    }
    const text = res?.choices?.[0]?.message?.content;
    if (typeof text !== 'string' || !text.trim()) {
      throw new DeskbridgeError('UNAVAILABLE', 'The AI provider returned an empty or unreadable answer; try again.');
    }
    return text.trim();
  }
}

/** Maps the openai package's errors to our stable codes; messages say what to do. */
export function providerError(err: unknown): DeskbridgeError {
  if (err instanceof DeskbridgeError) return err;
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    return new DeskbridgeError('UNAVAILABLE', 'The AI provider did not answer in time; try again in a moment.');
  }
  if (err instanceof OpenAI.RateLimitError) {
    const retryAfter = Number(err.headers?.get?.('retry-after'));
    const wait = Number.isFinite(retryAfter) && retryAfter > 0 ? ` Try again in ${retryAfter} s.` : ' Try again in a moment.';
    const e = new DeskbridgeError('RATE_LIMITED', `The AI provider is rate limiting requests.${wait}`);
    (e as DeskbridgeError & { retryAfterMs?: number }).retryAfterMs = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined;
    return e;
  }
  if (err instanceof OpenAI.AuthenticationError || err instanceof OpenAI.PermissionDeniedError) {
    return new DeskbridgeError('UNAVAILABLE', 'The AI provider rejected the API key; check OPENAI_API_KEY.');
  }
  if (err instanceof OpenAI.APIConnectionError) {
    return new DeskbridgeError('UNAVAILABLE', 'The AI provider cannot be reached; check OPENAI_BASE_URL and try again.');
  }
  if (err instanceof OpenAI.APIError) {
    return new DeskbridgeError('UNAVAILABLE', `The AI provider failed (HTTP ${err.status ?? 'error'}); try again later.`);
  }
  return new DeskbridgeError('UNAVAILABLE', `The AI request failed: ${(err as Error)?.message ?? String(err)}`);
}
