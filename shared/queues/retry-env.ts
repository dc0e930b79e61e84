import type { SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { type QueueRetryOptions, queueRetries } from './retry.ts';

/**
 * The variables a queue-consuming function reads to ride out an outage (set by
 * functions/environment.ts for every function that dead-letters for itself), to spread into its
 * config schema.
 */
export const queueRetryEnv = {
  MAX_RECEIVE_COUNT: z.coerce.number().int().positive(),
  SOURCE_QUEUE_URL: z.url(),
  RETRY_WINDOW_SECONDS: z.coerce.number().int().positive(),
  RETRY_BASE_SECONDS: z.coerce.number().int().positive(),
  RETRY_CAP_SECONDS: z.coerce.number().int().positive(),
};

type QueueRetryConfig = z.output<z.ZodObject<typeof queueRetryEnv>>;

/** `queueRetries` for the function's own queue, from its validated config. */
export function queueRetriesFromConfig(
  sqs: SQSClient,
  config: QueueRetryConfig,
  log: Pick<QueueRetryOptions, 'warn' | 'info'>,
) {
  return queueRetries({
    sqs,
    queueUrl: config.SOURCE_QUEUE_URL,
    schedule: {
      windowSeconds: config.RETRY_WINDOW_SECONDS,
      baseSeconds: config.RETRY_BASE_SECONDS,
      capSeconds: config.RETRY_CAP_SECONDS,
    },
    maxReceiveCount: config.MAX_RECEIVE_COUNT,
    ...log,
  });
}
