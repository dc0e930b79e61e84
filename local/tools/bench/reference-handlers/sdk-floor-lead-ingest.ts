import { EventBridgeClient, floorHandler, putEvent, readSecret, SecretsManagerClient } from './sdk-floor.ts';

/** lead-ingest's SDK floor: Secrets Manager (the signing secrets) and EventBridge (Lead Received). */
export const handler = floorHandler([
  readSecret(new SecretsManagerClient({})),
  putEvent(new EventBridgeClient({})),
]);
