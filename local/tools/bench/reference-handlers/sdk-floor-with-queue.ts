import { SQSClient } from '@aws-sdk/client-sqs';

/**
 * The SDK floor of lead-sync and integration-commands: stale-deals' floor (DynamoDB, Secrets
 * Manager, EventBridge, one request each), and the SQS client they build for retries and dead
 * letters (built, not called: a first event that succeeds sends nothing to a queue).
 */
export { handler } from './sdk-floor-stale-deals.ts';
export const sqs = new SQSClient({});
