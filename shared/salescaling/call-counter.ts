import { AsyncLocalStorage } from 'node:async_hooks';
import type { OperationName } from './operations.ts';

/**
 * Counts the HTTP requests the Salescaling client sends (retries included) within one unit of
 * work, however many clients or concurrent units share the process: `countCalls(() => work())`.
 */
export interface CallCount {
  total: number;
  byOperation: Partial<Record<OperationName, number>>;
}

const storage = new AsyncLocalStorage<CallCount>();

export async function countCalls<T>(work: () => Promise<T>): Promise<{ result: T; calls: CallCount }> {
  const calls: CallCount = { total: 0, byOperation: {} };
  const result = await storage.run(calls, work);
  return { result, calls };
}

/** Called by the transport for every request it sends. */
export function recordCall(operation: OperationName): void {
  const calls = storage.getStore();
  if (!calls) return;
  calls.total += 1;
  calls.byOperation[operation] = (calls.byOperation[operation] ?? 0) + 1;
}
