import { SQSClient } from '@aws-sdk/client-sqs';
import {
  DynamoDBClient,
  EventBridgeClient,
  floorHandler,
  putEvent,
  putItem,
  readSecret,
  SecretsManagerClient,
} from './sdk-floor.ts';

/**
 * The SDK floor of lead-sync and integration-commands: DynamoDB (the idempotency record), Secrets
 * Manager (the key), EventBridge, and the SQS client they build for retries and dead letters (built,
 * not called: a first event that succeeds sends nothing to a queue).
 */
export const sqs = new SQSClient({});
export const handler = floorHandler([
  putItem(new DynamoDBClient({})),
  readSecret(new SecretsManagerClient({})),
  putEvent(new EventBridgeClient({})),
]);
