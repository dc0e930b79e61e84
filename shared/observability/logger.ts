import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import type { LogItemExtraInput, LogItemMessage } from '@aws-lambda-powertools/logger/types';

/** The keys of the record being worked on, per async context (records of a batch run concurrently). */
const recordKeys = new AsyncLocalStorage<Record<string, unknown>>();

/**
 * Runs one record's work with `keys` on every line logged during it, the Salescaling client's
 * retries included. Unlike `appendKeys`, which is process-wide, this stays right when a batch's
 * records run at once (lead sync, integration commands).
 */
export function withRecordKeys<T>(keys: Record<string, unknown>, work: () => Promise<T>): Promise<T> {
  return recordKeys.run({ ...(recordKeys.getStore() ?? {}), ...keys }, work);
}

/** Adds keys to the current record's (inside withRecordKeys; elsewhere nothing to add them to). */
export function appendRecordKeys(keys: Record<string, unknown>): void {
  const store = recordKeys.getStore();
  if (store) Object.assign(store, keys);
}

/** Powertools' Logger, adding the current record's keys (withRecordKeys) to each line. */
class RecordAwareLogger extends Logger {
  override debug(input: LogItemMessage, ...extraInput: LogItemExtraInput): void {
    super.debug(input, ...withKeys(extraInput));
  }
  override info(input: LogItemMessage, ...extraInput: LogItemExtraInput): void {
    super.info(input, ...withKeys(extraInput));
  }
  override warn(input: LogItemMessage, ...extraInput: LogItemExtraInput): void {
    super.warn(input, ...withKeys(extraInput));
  }
  override error(input: LogItemMessage, ...extraInput: LogItemExtraInput): void {
    super.error(input, ...withKeys(extraInput));
  }
}

function withKeys(extraInput: LogItemExtraInput): LogItemExtraInput {
  const keys = recordKeys.getStore();
  // Powertools takes each extra in turn (an Error as `error`, a string as `extra`), so mixing is fine.
  return keys ? ([keys, ...extraInput] as LogItemExtraInput) : extraInput;
}

/**
 * The one structured logger of a function's process (Powertools: JSON lines with the request id,
 * cold start and function name once `injectLambdaContext` runs). Service name and level come from
 * POWERTOOLS_SERVICE_NAME and POWERTOOLS_LOG_LEVEL, set by the declaration's environment.
 */
export const logger: Logger = new RecordAwareLogger();
