// The recipe assistant's model behind an HTTP server that speaks OpenAI's chat-completions API:
// llama.cpp's llama-server, ollama, vLLM, LM Studio. One non-streaming request per answer, greedy
// (temperature 0) with a fixed seed, the answer's shape fixed by `response_format: json_schema`
// (servers turn it into a grammar). The answer is then parsed and checked against the schema
// here, since a server may ignore response_format or enforce only part of it.
//
// The result has the shape of local-model.ts's generateJson, so either backend can answer. Every
// error is an LlmServerError naming the endpoint URL (never the API key, which is also blanked
// out of anything a server echoes back) and saying what went wrong, by `kind`.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { checkSchema } from './schema-check.js';

/** llama-server's default address. */
export const DEFAULT_LLM_URL = 'http://127.0.0.1:8080';
/** A CPU model writing a few hundred tokens takes minutes: the default allows five of silence. */
export const DEFAULT_LLM_TIMEOUT_MS = 300_000;
/** Most bytes of a server's answer read; a chat completion of a recipe is a few kB. */
const MAX_BODY_BYTES = 8 << 20;

export interface GenerateJsonRemoteOptions {
  /** The server's base URL, with or without a trailing `/v1` (`http://127.0.0.1:8080`, `http://host:11434/v1`). */
  url: string;
  /** The model the server should use (llama-server ignores it; ollama and vLLM need it). */
  model: string;
  system: string;
  user: string;
  /** The answer's JSON schema, sent as response_format and checked on the answer (schema-check.ts's subset). */
  schema: object;
  /** max_tokens; an answer cut there is an error. Default 512. */
  maxTokens?: number;
  /** Longest wait to connect, and longest silence once connected. Default 300 s. */
  timeoutMs?: number;
  /** Sampling seed (generation is greedy, so it only matters for ties). Default 0. */
  seed?: number;
  /** Sent as `Authorization: Bearer <apiKey>`; never appears in a message. */
  apiKey?: string;
  /**
   * Check the answer against the schema here (default). False: return any JSON answer, for a
   * caller that validates it itself and can ask again with the problems (a server that ignores
   * some of the schema, patterns say, is then one retry away from an answer, not an error).
   */
  validate?: boolean;
}

export interface GenerateJsonRemoteResult {
  /** The answer as generated. */
  text: string;
  /** The answer parsed and checked against the schema. */
  json: unknown;
  /** Tokens generated, as the server counts them (usage.completion_tokens; 0 if it does not say). */
  tokens: number;
  /** Wall time of the request. */
  ms: number;
}

export type LlmServerErrorKind =
  /** Nothing listens at the address (connection refused). */
  | 'unreachable'
  /** The host name does not resolve, or another network error before any answer. */
  | 'network'
  /** No connection, or no byte of answer, within the timeout. */
  | 'timeout'
  /** The server closed the connection before its answer was complete. */
  | 'closed'
  /** An HTTP status other than 2xx. */
  | 'http'
  /** A body that is not a JSON chat completion, or too large. */
  | 'bad-body'
  /** No choice, or a choice without message content. */
  | 'no-content'
  /** finish_reason "length": the answer was cut at max_tokens. */
  | 'length'
  /** The message content is not JSON. */
  | 'not-json'
  /** The content is JSON that does not match the schema. */
  | 'schema';

export class LlmServerError extends Error {
  constructor(
    readonly kind: LlmServerErrorKind,
    /** The chat-completions endpoint, without credentials. */
    readonly url: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'LlmServerError';
  }
}

/** The chat-completions endpoint under a base URL given with or without `/v1`, and how messages name it (no credentials). */
export function chatCompletionsUrl(base: string): { endpoint: URL; display: string } {
  // A URL refused is shown with anything that looks like credentials (`user:secret@`) cut out.
  const shownRaw = JSON.stringify(base.replace(/[^/@\s]+@/g, '<credentials>@'));
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    throw new Error(`LLM server URL is not a URL: ${shownRaw} (expected like ${DEFAULT_LLM_URL})`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new Error(`LLM server URL must start with http:// or https://: ${shownRaw} (expected like ${DEFAULT_LLM_URL})`);
  }
  let path = u.pathname.replace(/\/+$/, '');
  if (path.endsWith('/v1')) path = path.slice(0, -3);
  const endpoint = new URL(u.href);
  endpoint.pathname = `${path}/v1/chat/completions`;
  endpoint.search = '';
  endpoint.hash = '';
  const shown = new URL(endpoint.href);
  shown.username = '';
  shown.password = '';
  return { endpoint, display: shown.href };
}

/** The first non-empty line of a text, trimmed and capped, for a message. */
function firstLine(text: string, max = 200): string {
  const line = text.split(/\r?\n/).find((l) => l.trim() !== '')?.trim() ?? '';
  return line.length > max ? `${line.slice(0, max)}...` : line;
}

function snippet(text: string, max = 200): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max)}...` : t;
}

interface HttpAnswer {
  status: number;
  statusMessage: string;
  body: string;
}

/** POSTs `body`, resolving with the whole answer whatever its status; network faults become LlmServerErrors. */
function post(endpoint: URL, display: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (e: LlmServerError): void => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(e);
    };
    const request = endpoint.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(endpoint, {
      method: 'POST',
      agent: false, // one request, its own connection: nothing is left open afterwards
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      timeout: timeoutMs, // the socket's idle timeout: runs while connecting, then while nothing arrives
    });
    req.on('timeout', () =>
      fail(
        new LlmServerError(
          'timeout',
          display,
          `no answer from ${display} within ${timeoutMs} ms (to connect, or silence while waiting); a slow model may need a longer timeout`,
        ),
      ),
    );
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (settled) return;
      if (e.code === 'ECONNREFUSED') {
        fail(new LlmServerError('unreachable', display, `nothing answers at ${display}; start llama-server / ollama or pass --llm-url`, { cause: e }));
      } else if (e.code === 'ECONNRESET' || e.code === 'EPIPE' || e.message === 'socket hang up') {
        fail(new LlmServerError('closed', display, `${display} closed the connection without answering`, { cause: e }));
      } else if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') {
        fail(new LlmServerError('network', display, `cannot resolve the host of ${display} (${e.code})`, { cause: e }));
      } else {
        fail(new LlmServerError('network', display, `cannot reach ${display}: ${e.code ? `${e.code} ` : ''}${e.message}`, { cause: e }));
      }
    });
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) {
          fail(new LlmServerError('bad-body', display, `${display} answered more than ${MAX_BODY_BYTES} bytes; that is not a chat completion of a recipe`));
          return;
        }
        chunks.push(c);
      });
      res.on('error', () => {}); // 'aborted' / 'close' below say what happened
      res.on('close', () => {
        if (settled) return;
        if (!res.complete) {
          fail(new LlmServerError('closed', display, `${display} closed the connection before its answer was complete (HTTP ${res.statusCode}, ${size} bytes)`));
          return;
        }
        settled = true;
        resolve({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end(body);
  });
}

/**
 * One answer to one question from an OpenAI-compatible server, as JSON matching `schema`: the
 * counterpart of local-model.ts's generateJson.
 */
export async function generateJsonRemote(options: GenerateJsonRemoteOptions): Promise<GenerateJsonRemoteResult> {
  const { endpoint, display } = chatCompletionsUrl(options.url);
  const maxTokens = options.maxTokens ?? 512;
  const timeoutMs = options.timeoutMs ?? DEFAULT_LLM_TIMEOUT_MS;
  const apiKey = options.apiKey ?? '';
  // Whatever a server echoes (some repeat a rejected key in their error), the key never reaches a message.
  const clean = (s: string): string => (apiKey ? s.split(apiKey).join('<api key>') : s);
  const error = (kind: LlmServerErrorKind, message: string, opts?: ErrorOptions): LlmServerError =>
    new LlmServerError(kind, display, clean(message), opts);

  const payload = JSON.stringify({
    model: options.model,
    messages: [
      { role: 'system', content: options.system },
      { role: 'user', content: options.user },
    ],
    temperature: 0,
    seed: options.seed ?? 0,
    max_tokens: maxTokens,
    stream: false,
    response_format: { type: 'json_schema', json_schema: { name: 'recipe', strict: true, schema: options.schema } },
  });
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;

  const started = performance.now();
  let answer: HttpAnswer;
  try {
    answer = await post(endpoint, display, payload, headers, timeoutMs);
  } catch (e) {
    if (e instanceof LlmServerError) throw error(e.kind, e.message, { cause: e.cause });
    throw e;
  }
  const ms = performance.now() - started;

  if (answer.status < 200 || answer.status >= 300) {
    const line = firstLine(answer.body);
    throw error('http', `${display} answered HTTP ${answer.status}${answer.statusMessage ? ` ${answer.statusMessage}` : ''}${line ? `: ${line}` : ''}`);
  }
  let completion: unknown;
  try {
    completion = JSON.parse(answer.body);
  } catch (e) {
    throw error('bad-body', `${display} answered HTTP ${answer.status} with a body that is not JSON: ${snippet(answer.body) || '(empty)'}`, { cause: e });
  }
  if (!completion || typeof completion !== 'object' || Array.isArray(completion)) {
    throw error('bad-body', `${display} answered with JSON that is not a chat completion: ${snippet(answer.body)}`);
  }
  const c = completion as { choices?: unknown; usage?: { completion_tokens?: unknown }; error?: unknown };
  if (!Array.isArray(c.choices) || c.choices.length === 0) {
    const said = c.error === undefined ? '' : `: ${snippet(typeof c.error === 'string' ? c.error : JSON.stringify(c.error))}`;
    throw error('no-content', `${display} answered without any choices${said}`);
  }
  const choice = c.choices[0] as { finish_reason?: unknown; message?: { content?: unknown; refusal?: unknown } } | null;
  const content = choice?.message?.content;
  if (choice?.finish_reason === 'length') {
    throw error(
      'length',
      `the answer from ${display} was cut at the length limit (max_tokens ${maxTokens}) before its JSON was complete: ${typeof content === 'string' ? snippet(content) : '(no content)'}`,
    );
  }
  if (typeof content !== 'string' || content.trim() === '') {
    const refusal = typeof choice?.message?.refusal === 'string' ? ` (refusal: ${snippet(choice.message.refusal)})` : '';
    throw error('no-content', `${display} answered without message content${refusal}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch (e) {
    throw error('not-json', `the answer from ${display} is not JSON (${(e as Error).message}): ${snippet(content)}`, { cause: e });
  }
  const problems = options.validate === false ? [] : checkSchema(options.schema, json);
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
    throw error('schema', `the answer from ${display} does not match the schema: ${shown}: ${snippet(content)}`);
  }
  const tokens = typeof c.usage?.completion_tokens === 'number' ? c.usage.completion_tokens : 0;
  return { text: content, json, tokens, ms };
}
