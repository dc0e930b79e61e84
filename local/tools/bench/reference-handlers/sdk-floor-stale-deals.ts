import {
  DynamoDBClient,
  EventBridgeClient,
  floorHandler,
  putEvent,
  putItem,
  readSecret,
  SecretsManagerClient,
} from './sdk-floor.ts';

/** stale-deals' SDK floor: DynamoDB (the run record), Secrets Manager (the key), EventBridge. */
export const handler = floorHandler([
  putItem(new DynamoDBClient({})),
  readSecret(new SecretsManagerClient({})),
  putEvent(new EventBridgeClient({})),
]);
