import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/**
 * The runtime's own surfaces (its AWS endpoints and `/_local/`) answer only requests addressed to
 * loopback, so a web page cannot reach them through a name that resolves to 127.0.0.1 (DNS
 * rebinding): its requests carry the page's host name, not a loopback one. The configured `HOST`
 * counts too when it is a real address rather than a wildcard.
 */
export function isLoopbackHost(
  hostHeader: string | undefined,
  port: number,
  configuredHost: string,
): boolean {
  if (!hostHeader || hostHeader.length > 300) return false;
  const names = new Set(['127.0.0.1', 'localhost', '[::1]']);
  if (!WILDCARDS.has(configuredHost))
    names.add(configuredHost.includes(':') ? `[${configuredHost}]` : configuredHost);
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(hostHeader);
  if (!match) return false;
  const [, name = '', portText] = match;
  if (!names.has(name.toLowerCase())) return false;
  return portText === undefined || Number(portText) === port;
}

export const WILDCARDS: ReadonlySet<string> = new Set(['0.0.0.0', '::', '[::]', '']);

/**
 * Whether a connection comes from this machine: from loopback, or from one of its own addresses
 * (a process here calling the machine's LAN address connects from that address). `Host` is what
 * the client says; bound to a wildcard or a LAN address, the runtime is reachable from the network,
 * and another machine could name loopback in its `Host` too. The operator surfaces (the AWS
 * endpoints and `/_local/`) answer only this machine; the function routes, like a public API, anyone.
 */
export function isFromThisMachine(socket: Pick<Socket, 'remoteAddress' | 'localAddress'>): boolean {
  const remote = socket.remoteAddress?.replace(/^::ffff:/, '');
  if (!remote) return false;
  if (remote === '::1' || remote.startsWith('127.')) return true;
  return remote === socket.localAddress?.replace(/^::ffff:/, '');
}

/**
 * A browser's cross-site request to `/_local/` (a form POST firing a schedule, say) is refused: one
 * that says where it comes from must come from a loopback origin or the runtime's own host.
 */
export function isCrossSite(headers: IncomingHttpHeaders, port: number, configuredHost: string): boolean {
  if (headers['sec-fetch-site'] === 'cross-site') return true;
  const origin = headers.origin;
  if (origin === undefined) return false;
  if (origin === 'null') return true;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return true;
  }
  return !isLoopbackHost(host, port, configuredHost);
}

/** A request's body, or undefined when it is larger than maxBytes (read to the end, never kept). */
export function readBounded(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > maxBytes ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The request target as a URL, or undefined when it is not one (a 400, never a 500). */
export function parseRequestUrl(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? '/', 'http://local');
  } catch {
    return undefined;
  }
}
