import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** What the transport reads of an answer: nothing more, so a stand-in cannot miss a part of it. */
export interface HttpAnswer {
  status: number;
  retryAfter: string | null;
  text: string;
}

export interface HttpAsk {
  method: string;
  headers: Record<string, string>;
  body?: string | undefined;
  signal: AbortSignal;
}

/** One HTTP request and its whole answer. */
export type HttpExchange = (url: string, ask: HttpAsk) => Promise<HttpAnswer>;

/**
 * The longest answer read (bytes). Salescaling's largest documented answer is a page of 1,000
 * opportunities; anything far beyond is not an answer to act on, and reading it would only grow memory.
 */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

export class AnswerTooLargeError extends Error {
  readonly code = 'ANSWER_TOO_LARGE';
  constructor() {
    super(`Salescaling's answer exceeded ${MAX_ANSWER_BYTES} bytes`);
    this.name = 'AnswerTooLargeError';
  }
}

// Kept-alive connections, as fetch keeps them: a warm invocation reuses its sockets.
const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

/**
 * The exchange over `node:http(s)`. Not `fetch`: in a fresh process Node's fetch (undici) costs
 * about 40 ms to load and compile on its first call, against about 7 ms here — paid at every cold
 * start of every Salescaling-calling function (docs/performance.md). Network errors keep their
 * `code` (ECONNREFUSED, ECONNRESET, …) as the transport's retry rules read them.
 */
export const nodeHttpExchange: HttpExchange = (url, ask) =>
  new Promise<HttpAnswer>((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const headers: Record<string, string | number> = { ...ask.headers };
    if (ask.body !== undefined) headers['content-length'] = Buffer.byteLength(ask.body);
    const request = (secure ? httpsRequest : httpRequest)(
      target,
      { method: ask.method, headers, agent: secure ? agents.https : agents.http, signal: ask.signal },
      (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) {
            response.destroy(new AnswerTooLargeError());
            return;
          }
          chunks.push(chunk);
        });
        response.on('error', reject);
        // A connection closed mid-answer (no 'end'): the answer is lost, as a reset is.
        response.on('close', () => {
          if (!response.complete)
            reject(Object.assign(new Error('answer cut short'), { code: 'ECONNRESET' }));
        });
        response.on('end', () => {
          const retryAfter = response.headers['retry-after'];
          resolve({
            status: response.statusCode ?? 0,
            retryAfter: typeof retryAfter === 'string' ? retryAfter : null,
            text: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    request.on('error', reject);
    request.end(ask.body);
  });

/** An exchange through a `fetch` (tests inject one). */
export function fetchExchange(fetchFn: typeof globalThis.fetch): HttpExchange {
  return async (url, ask) => {
    const response = await fetchFn(url, ask);
    const text = await response.text();
    return { status: response.status, retryAfter: response.headers.get('retry-after'), text };
  };
}
