import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import { InProcessPersistenceLayer } from './in-process-store.ts';

/**
 * Where idempotency records live: the DynamoDB table named by IDEMPOTENCY_TABLE_NAME, or, when the
 * local runtime sets it to `in-process`, the function's own process.
 */
export function idempotencyStore(tableName: string): BasePersistenceLayer {
  return tableName === 'in-process'
    ? new InProcessPersistenceLayer()
    : new DynamoDBPersistenceLayer({ tableName });
}
