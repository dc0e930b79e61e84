import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * The tracer in a fresh Node process each time (the choice is made once, at module scope): whether
 * the X-Ray SDK is loaded at all, and whether a handler behind the Powertools middleware still answers.
 */
const run = promisify(execFile);
const tracerUrl = new URL('../../../shared/observability/tracer.ts', import.meta.url).href;
const SCRIPT = `
import { createRequire } from 'node:module';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
const { tracer } = await import(${JSON.stringify(tracerUrl)});
const handler = middy(async () => ({ statusCode: 200 })).use(captureLambdaHandler(tracer));
const response = await handler({}, { functionName: 'test', awsRequestId: 'r-1' });
const loaded = Object.keys(createRequire(import.meta.url).cache).some((p) => p.includes('/aws-xray-sdk-core/'));
process.stdout.write(JSON.stringify({ enabled: tracer.isTracingEnabled(), xRaySdkLoaded: loaded, response }));
`;

async function inFreshProcess(env: Record<string, string>) {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', SCRIPT], {
    cwd: new URL('../../..', import.meta.url).pathname,
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'eu-west-1', ...env },
  });
  return JSON.parse(stdout) as { enabled: boolean; xRaySdkLoaded: boolean; response: unknown };
}

describe('tracer', () => {
  it('is off, and the X-Ray SDK never loaded, unless POWERTOOLS_TRACE_ENABLED is "true"; the handler still answers', async () => {
    for (const value of [undefined, 'false', '1']) {
      const result = await inFreshProcess(value === undefined ? {} : { POWERTOOLS_TRACE_ENABLED: value });
      expect(result).toEqual({ enabled: false, xRaySdkLoaded: false, response: { statusCode: 200 } });
    }
  });

  it('is the Powertools tracer, with the X-Ray SDK, where POWERTOOLS_TRACE_ENABLED is "true"', async () => {
    const result = await inFreshProcess({
      POWERTOOLS_TRACE_ENABLED: 'true',
      // In Lambda (the tracer traces nothing elsewhere), with a sampled trace and a daemon address nobody listens on.
      AWS_LAMBDA_FUNCTION_NAME: 'test',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      LAMBDA_TASK_ROOT: '/tmp',
      _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
      AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000',
      AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
    });
    expect(result).toEqual({ enabled: true, xRaySdkLoaded: true, response: { statusCode: 200 } });
  });
});
