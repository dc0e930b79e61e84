import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { HttpTrigger } from '#functions/declaration.ts';

/**
 * API Gateway HTTP API (payload format 2.0) on the local runtime: route matching by the declared
 * `METHOD /path/{param}` and the event and response shapes Lambda sees behind API Gateway.
 */
export interface Route {
  trigger: HttpTrigger;
  functionName: string;
  pattern: RegExp;
  params: string[];
}

export function compileRoute(trigger: HttpTrigger, functionName: string): Route {
  const params: string[] = [];
  const source = trigger.path.replace(
    /\{([A-Za-z][A-Za-z0-9]*)(\+?)\}/g,
    (_, name: string, greedy: string) => {
      params.push(name);
      return greedy ? '(.+)' : '([^/]+)';
    },
  );
  return { trigger, functionName, params, pattern: new RegExp(`^${source}$`) };
}

export function matchRoute(
  routes: readonly Route[],
  method: string,
  path: string,
):
  | { route: Route; pathParameters: Record<string, string> }
  | { allowed: string[] }
  | 'malformed'
  | undefined {
  const allowed: string[] = [];
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    if (route.trigger.method !== method) {
      allowed.push(route.trigger.method);
      continue;
    }
    const pathParameters: Record<string, string> = {};
    try {
      route.params.forEach((name, i) => {
        pathParameters[name] = decodeURIComponent(match[i + 1] ?? '');
      });
    } catch {
      // A stray `%` (`/leads/%`): API Gateway answers 400, never the function.
      return 'malformed';
    }
    return { route, pathParameters };
  }
  return allowed.length > 0 ? { allowed } : undefined;
}

const TEXT_TYPES = /^(text\/|application\/(json|x-www-form-urlencoded|xml|javascript)|[^;]*\+json)/i;

export function toApiGatewayEvent(input: {
  req: IncomingMessage;
  url: URL;
  body: Buffer;
  route: Route;
  pathParameters: Record<string, string>;
  accountId: string;
}): APIGatewayProxyEventV2 {
  const { req, url, body, route } = input;
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (name === 'cookie') cookies.push(...String(value).split(/;\s*/).filter(Boolean));
    else headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const key of new Set(url.searchParams.keys())) query[key] = url.searchParams.getAll(key).join(',');
  const contentType = headers['content-type'] ?? '';
  const isText = body.length === 0 || TEXT_TYPES.test(contentType);
  const now = new Date();
  const routeKey = `${route.trigger.method} ${route.trigger.path}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(Object.keys(input.pathParameters).length > 0 ? { pathParameters: input.pathParameters } : {}),
    requestContext: {
      accountId: input.accountId,
      apiId: 'local',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: (headers.host ?? '127').split('.')[0] ?? '127',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: isText ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: !isText,
  };
}

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
  body: Buffer;
}

/** Lambda's answer as API Gateway turns it into HTTP (payload 2.0 rules, unstructured results included). */
export function fromLambdaResult(result: unknown): HttpResponse {
  const structured =
    typeof result === 'object' && result !== null && 'statusCode' in result
      ? (result as APIGatewayProxyStructuredResultV2)
      : undefined;
  if (!structured) {
    // Payload 2.0: anything else is a 200 JSON answer of the value itself.
    const text = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      cookies: [],
      body: Buffer.from(text),
    };
  }
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(structured.headers ?? {}))
    headers[key.toLowerCase()] = String(value);
  const raw = structured.body ?? '';
  return {
    statusCode: structured.statusCode ?? 200,
    headers,
    cookies: structured.cookies ?? [],
    body: structured.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw),
  };
}
