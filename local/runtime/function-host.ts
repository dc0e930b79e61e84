import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { FunctionDeclaration } from '#functions/declaration.ts';

/**
 * Runs one declared function the way Lambda does: isolated sandboxes (worker threads) with the
 * function's own environment, each started on first use (a cold start), reused while warm, and
 * discarded when an invocation runs past the function's timeout or the module fails to load.
 * An exclusive invocation (a queue batch, a scheduled run) gets a sandbox of its own, as Lambda runs
 * one invocation per execution environment: an idle warm one, else a new one. HTTP invocations may
 * share a warm sandbox, so a load test does not start a thread per request.
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

export interface InvokeOptions {
  /** Never share the sandbox with another invocation (Lambda's rule; the queues and schedules). */
  exclusive?: boolean | undefined;
  /** Told whether this invocation started a new sandbox. */
  onColdStart?: (() => void) | undefined;
}

interface Pending {
  resolve(result: InvocationResult): void;
  timer: NodeJS.Timeout;
}

interface Sandbox {
  worker: Worker;
  ready: Promise<void>;
  pending: Map<string, Pending>;
  /** Invocations running in it now (held from the choice of sandbox, before it is ready). */
  inFlight: number;
}

export class FunctionHost {
  readonly declaration: FunctionDeclaration;
  #options: FunctionHostOptions;
  #sandboxes: Sandbox[] = [];
  #closed = false;
  #coldStarts = 0;
  #peakInFlight = 0;

  constructor(declaration: FunctionDeclaration, options: FunctionHostOptions) {
    this.declaration = declaration;
    this.#options = options;
  }

  /** The environment the function's sandbox gets. */
  get environment(): Readonly<Record<string, string>> {
    return this.#options.environment;
  }

  /** Sandboxes started so far (each a cold start). */
  get coldStarts(): number {
    return this.#coldStarts;
  }

  /** Sandboxes alive now. */
  get sandboxes(): number {
    return this.#sandboxes.length;
  }

  /** Invocations running now, in every sandbox. */
  get running(): number {
    return this.#sandboxes.reduce((sum, s) => sum + s.inFlight, 0);
  }

  /** The most exclusive invocations seen running at once. */
  get peakConcurrency(): number {
    return this.#peakInFlight;
  }

  async invoke(event: unknown, options: InvokeOptions = {}): Promise<InvocationResult> {
    if (this.#closed) return failure('HostClosed', 'The local runtime is shutting down');
    const sandbox = this.#choose(options);
    sandbox.inFlight += 1;
    if (options.exclusive) {
      const running = this.#sandboxes.filter((s) => s.inFlight > 0).length;
      this.#peakInFlight = Math.max(this.#peakInFlight, running);
    }
    try {
      return await this.#run(sandbox, event);
    } finally {
      sandbox.inFlight -= 1;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#sandboxes.map((s) => this.#discard(s)));
  }

  #choose(options: InvokeOptions): Sandbox {
    const idle = this.#sandboxes.find((s) => s.inFlight === 0);
    if (idle) return idle;
    const shared = this.#sandboxes[0];
    if (!options.exclusive && shared) return shared;
    options.onColdStart?.();
    return this.#start();
  }

  async #run(sandbox: Sandbox, event: unknown): Promise<InvocationResult> {
    try {
      await sandbox.ready;
    } catch (error) {
      return failure('Runtime.InitError', (error as Error).message);
    }
    if (!this.#sandboxes.includes(sandbox)) {
      return failure('Runtime.InitError', 'The function sandbox is not running');
    }
    const id = randomUUID();
    const timeoutMs = this.declaration.timeoutSeconds * 1000;
    return new Promise<InvocationResult>((resolveResult) => {
      const timer = setTimeout(() => {
        sandbox.pending.delete(id);
        resolveResult(
          failure('Sandbox.Timedout', `Task timed out after ${this.declaration.timeoutSeconds} seconds`),
        );
        // Lambda discards a sandbox that timed out; so do we (the next call is a cold start).
        void this.#discard(sandbox);
      }, timeoutMs);
      sandbox.pending.set(id, { resolve: resolveResult, timer });
      sandbox.worker.postMessage({ id, event, deadline: Date.now() + timeoutMs });
    });
  }

  #start(): Sandbox {
    this.#coldStarts += 1;
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
    this.#pipe(worker.stdout, 'stdout');
    this.#pipe(worker.stderr, 'stderr');
    const pending = new Map<string, Pending>();
    const ready = new Promise<void>((resolveReady, rejectReady) => {
      worker.on('message', (message: { ready?: true; id?: string } & InvocationResult) => {
        if (message.ready) {
          resolveReady();
          return;
        }
        const waiting = message.id ? pending.get(message.id) : undefined;
        if (!waiting || !message.id) return;
        clearTimeout(waiting.timer);
        pending.delete(message.id);
        waiting.resolve(
          message.ok ? { ok: true, result: message.result } : { ok: false, error: message.error },
        );
      });
      worker.on('error', (error) => {
        rejectReady(error);
        failAll(pending, failure('Runtime.UnhandledError', error.message));
      });
      worker.on('exit', () => {
        this.#sandboxes = this.#sandboxes.filter((s) => s.worker !== worker);
        rejectReady(new Error('The function sandbox exited'));
        failAll(pending, failure('Runtime.ExitError', 'The function sandbox exited'));
      });
    });
    // A failed start is reported to its invocation (Runtime.InitError), never unhandled.
    ready.catch(() => undefined);
    const sandbox: Sandbox = { worker, ready, pending, inFlight: 0 };
    this.#sandboxes.push(sandbox);
    return sandbox;
  }

  async #discard(sandbox: Sandbox): Promise<void> {
    this.#sandboxes = this.#sandboxes.filter((s) => s !== sandbox);
    await sandbox.worker.terminate();
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

function failAll(pending: Map<string, Pending>, result: InvocationResult): void {
  for (const [id, waiting] of pending) {
    clearTimeout(waiting.timer);
    pending.delete(id);
    waiting.resolve(result);
  }
}

function failure(name: string, message: string): InvocationResult {
  return { ok: false, error: { name, message } };
}
