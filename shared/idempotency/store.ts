import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * Powertools' DynamoDB layer, storing a result as its JSON: a result with an `undefined` field (an
 * outcome's optional key left unset) would otherwise fail to marshal, after the work was done, and
 * the record stay "in progress" until it expires (the in-process store this replaced hid it).
 */
type JSONValue = Parameters<DynamoDBPersistenceLayer['saveSuccess']>[1];

class JsonResultPersistenceLayer extends DynamoDBPersistenceLayer {
  override saveSuccess(data: JSONValue, result: JSONValue): Promise<void> {
    return super.saveSuccess(data, result === undefined ? result : JSON.parse(JSON.stringify(result)));
  }
}

/**
 * Where idempotency records live: the DynamoDB table named by IDEMPOTENCY_TABLE_NAME, in AWS and in
 * the local runtime alike (dynalite there), so the persistence layer that runs locally and in tests
 * is the deployed one. Several sandboxes of one function share it, as Lambda's instances do.
 */
export function idempotencyStore(tableName: string, client?: DynamoDBClient): BasePersistenceLayer {
  return new JsonResultPersistenceLayer({ tableName, ...(client ? { awsSdkV3Client: client } : {}) });
}
