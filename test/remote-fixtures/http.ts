// A plain node:http client for the remote-fixture tests: it reports exactly what came over the
// wire (status, headers, the body bytes received before a connection broke, the error that broke
// it), which fetch hides behind one TypeError.
import { request } from 'node:http';

export interface Exchange {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Set when the connection broke before the response was complete (body holds what came). */
  error?: Error;
}

export function http(url: string, options: { method?: string; body?: Buffer; timeoutMs?: number } = {}): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', agent: false, headers: options.body ? { 'content-length': options.body.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      const settle = (error?: Error) =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), ...(error ? { error } : {}) });
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => settle());
      res.once('aborted', () => settle(new Error('response aborted')));
      res.once('error', (err) => settle(err));
    });
    if (options.timeoutMs) req.setTimeout(options.timeoutMs, () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.once('error', reject);
    req.end(options.body);
  });
}
