import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ANSWER_BYTES, nodeHttpExchange } from '#shared/salescaling/http-exchange.ts';

/** A loopback server whose answer each test chooses by path. */
let server: Server;
let base: string;
const seen: Array<{ method?: string; length?: string; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      seen.push({ method: req.method, length: req.headers['content-length'], body });
      if (req.url === '/rate-limited') {
        res.writeHead(429, { 'retry-after': '7' }).end('{"error":"slow down"}');
      } else if (req.url === '/huge') {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(1024 * 1024, 'x');
        const write = (left: number): void => {
          if (left === 0) return void res.end();
          if (res.write(chunk)) write(left - 1);
          else res.once('drain', () => write(left - 1));
        };
        write(MAX_ANSWER_BYTES / chunk.length + 2);
      } else if (req.url === '/cut') {
        res.writeHead(200, { 'content-length': '100' });
        res.write('{"partial":');
        setImmediate(() => res.socket?.destroy());
      } else {
        res.writeHead(201).end('{"ok":true}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const ask = (method = 'GET', body?: string) => ({
  method,
  headers: { accept: 'application/json' },
  body,
  signal: AbortSignal.timeout(5000),
});

describe('the node:http exchange', () => {
  it('sends the body with its length and reads the whole answer', async () => {
    const body = JSON.stringify({ name: 'Déjà vu' });
    expect(await nodeHttpExchange(`${base}/x`, ask('POST', body))).toEqual({
      status: 201,
      retryAfter: null,
      text: '{"ok":true}',
    });
    expect(seen.at(-1)).toEqual({ method: 'POST', length: String(Buffer.byteLength(body)), body });
  });

  it('reads Retry-After', async () => {
    expect(await nodeHttpExchange(`${base}/rate-limited`, ask())).toMatchObject({
      status: 429,
      retryAfter: '7',
    });
  });

  it('stops reading an answer over its bound', async () => {
    await expect(nodeHttpExchange(`${base}/huge`, ask())).rejects.toMatchObject({ code: 'ANSWER_TOO_LARGE' });
  });

  it('calls a connection cut mid-answer a reset, and a refused one refused', async () => {
    await expect(nodeHttpExchange(`${base}/cut`, ask())).rejects.toMatchObject({ code: 'ECONNRESET' });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(nodeHttpExchange(`http://127.0.0.1:${port}/`, ask())).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });

  it('gives up when its signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      nodeHttpExchange(`${base}/x`, { ...ask(), signal: controller.signal }),
    ).rejects.toMatchObject({ name: 'AbortError' });
  });
});
