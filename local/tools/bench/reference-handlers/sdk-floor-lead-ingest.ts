import { EventBridgeClient, floorHandler, putEvent, SecretsManagerClient } from './sdk-floor.ts';

/**
 * lead-ingest's SDK floor: EventBridge (Lead Received). Its Secrets Manager client is built on a
 * signed provider's first request (Powertools' `getSecret`), which the benchmark's first event, a
 * plain form post, does not make: the package is loaded, as in the function, but not called.
 */
export const secretsManager = SecretsManagerClient;
export const handler = floorHandler([putEvent(new EventBridgeClient({}))]);
