import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

/**
 * One function's sandbox: imports the handler module once (the cold start, with this function's
 * own environment) and runs invocations sent by the host with a Lambda-shaped context.
 */
interface WorkerData {
  entry: string;
  handlerName: string;
  functionName: string;
  memoryMb: number;
  region: string;
  accountId: string;
}

interface InvokeMessage {
  id: string;
  event: unknown;
  deadline: number;
}

const data = workerData as WorkerData;
const port = parentPort;
if (!port) throw new Error('worker.ts must run as a worker thread');

const module = (await import(pathToFileURL(data.entry).href)) as Record<string, unknown>;
const handler = module[data.handlerName];
if (typeof handler !== 'function') {
  throw new Error(`${data.entry} does not export a function named "${data.handlerName}"`);
}

port.on('message', async ({ id, event, deadline }: InvokeMessage) => {
  const context = {
    functionName: data.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${data.region}:${data.accountId}:function:${data.functionName}`,
    memoryLimitInMB: String(data.memoryMb),
    awsRequestId: id,
    logGroupName: `/aws/lambda/${data.functionName}`,
    logStreamName: `local/${data.functionName}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  try {
    const result = await (handler as (event: unknown, context: unknown) => Promise<unknown>)(event, context);
    port.postMessage({
      id,
      ok: true,
      result: result === undefined ? null : JSON.parse(JSON.stringify(result)),
    });
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    port.postMessage({ id, ok: false, error: { name: e.name, message: e.message, stack: e.stack } });
  }
});

port.postMessage({ ready: true });
