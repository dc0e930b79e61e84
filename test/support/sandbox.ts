import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { LocalRuntime } from '#local/runtime/runtime.ts';

/**
 * An EventBridge client signing as one function's sandbox, with the credentials the runtime put in
 * that sandbox's environment: for tests that stand in for a function publishing (the runtime still
 * verifies every signature and every entry, exactly as for the function itself).
 */
export function sandboxEventBridge(runtime: LocalRuntime, functionName: string): EventBridgeClient {
  const environment = runtime.hosts.get(functionName)?.environment;
  if (!environment?.AWS_ACCESS_KEY_ID || !environment.AWS_SECRET_ACCESS_KEY) {
    throw new Error(`No sandbox ${functionName} in this runtime`);
  }
  return new EventBridgeClient({
    endpoint: runtime.url,
    region: 'us-east-1',
    credentials: {
      accessKeyId: environment.AWS_ACCESS_KEY_ID,
      secretAccessKey: environment.AWS_SECRET_ACCESS_KEY,
    },
  });
}
