import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { FunctionDeclaration } from '#functions/declaration.ts';

/**
 * Runs one declared function the way Lambda does: an isolated sandbox (a worker thread) with the
 * function's own environment, started on first use (cold start), reused while warm, and discarded
 * when an invocation runs past the function's timeout or the module fails to load.
 */
export interface InvocationError {
  name: string;
  message: string;
  stack?: string | undefined;
}

export type InvocationResult = { ok: true; result: unknown } | { ok: false; error: InvocationError };

export interface FunctionHostOptions {
  projectRoot: string;
  /** The function's complete environment (its sandbox sees nothing else). */
  environment: Record<string, string>;
  region: string;
  accountId: string;
  /** Where the function's own output goes; default: this process's stdout/stderr. */
  output?: ((line: string, stream: 'stdout' | 'stderr') => void) | undefined;
}

interface Pending {
  resolve(result: InvocationResult): void;
  timer: NodeJS.Timeout;
}

export class FunctionHost {
  readonly declaration: FunctionDeclaration;
  #options: FunctionHostOptions;
  #worker: Worker | undefined;
  #ready: Promise<void> | undefined;
  #pending = new Map<string, Pending>();
  #closed = false;

  constructor(declaration: FunctionDeclaration, options: FunctionHostOptions) {
    this.declaration = declaration;
    this.#options = options;
  }

  /** The environment the function's sandbox gets. */
  get environment(): Readonly<Record<string, string>> {
    return this.#options.environment;
  }

  async invoke(event: unknown): Promise<InvocationResult> {
    if (this.#closed) return failure('HostClosed', 'The local runtime is shutting down');
    try {
      await this.#start();
    } catch (error) {
      return failure('Runtime.InitError', (error as Error).message);
    }
    const worker = this.#worker;
    if (!worker) return failure('Runtime.InitError', 'The function sandbox is not running');
    const id = randomUUID();
    const timeoutMs = this.declaration.timeoutSeconds * 1000;
    return new Promise<InvocationResult>((resolveResult) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        resolveResult(
          failure('Sandbox.Timedout', `Task timed out after ${this.declaration.timeoutSeconds} seconds`),
        );
        // Lambda discards a sandbox that timed out; so do we (the next call is a cold start).
        void this.#discard(worker);
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolveResult, timer });
      worker.postMessage({ id, event, deadline: Date.now() + timeoutMs });
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#worker) await this.#discard(this.#worker);
  }

  #start(): Promise<void> {
    if (this.#ready) return this.#ready;
    const worker = new Worker(new URL('./worker.ts', import.meta.url), {
      env: this.#options.environment,
      stdout: true,
      stderr: true,
      workerData: {
        entry: resolve(this.#options.projectRoot, this.declaration.entry),
        handlerName: this.declaration.handler,
        functionName: this.declaration.name,
        memoryMb: this.declaration.memoryMb,
        region: this.#options.region,
        accountId: this.#options.accountId,
      },
    });
    this.#worker = worker;
    this.#pipe(worker.stdout, 'stdout');
    this.#pipe(worker.stderr, 'stderr');
    this.#ready = new Promise<void>((resolveReady, rejectReady) => {
      worker.on('message', (message: { ready?: true; id?: string } & InvocationResult) => {
        if (message.ready) {
          resolveReady();
          return;
        }
        const pending = message.id ? this.#pending.get(message.id) : undefined;
        if (!pending || !message.id) return;
        clearTimeout(pending.timer);
        this.#pending.delete(message.id);
        pending.resolve(
          message.ok ? { ok: true, result: message.result } : { ok: false, error: message.error },
        );
      });
      worker.on('error', (error) => {
        rejectReady(error);
        this.#failAll(failure('Runtime.UnhandledError', error.message));
      });
      worker.on('exit', () => {
        if (this.#worker === worker) {
          this.#worker = undefined;
          this.#ready = undefined;
        }
        this.#failAll(failure('Runtime.ExitError', 'The function sandbox exited'));
      });
    });
    return this.#ready;
  }

  async #discard(worker: Worker): Promise<void> {
    if (this.#worker === worker) {
      this.#worker = undefined;
      this.#ready = undefined;
    }
    await worker.terminate();
  }

  #failAll(result: InvocationResult): void {
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      this.#pending.delete(id);
      pending.resolve(result);
    }
  }

  #pipe(stream: Readable, name: 'stdout' | 'stderr'): void {
    const output = this.#options.output;
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (output) output(line, name);
        else (name === 'stdout' ? process.stdout : process.stderr).write(`${line}\n`);
      }
    });
  }
}

function failure(name: string, message: string): InvocationResult {
  return { ok: false, error: { name, message } };
}
