import { defineCatalog } from './declaration.ts';

/**
 * Every function of the product and its triggers: the one declaration the CDK stack and the
 * local runtime both read (see `declaration.ts`).
 */
export const catalog = defineCatalog([
  {
    name: 'api-health',
    description: 'Answers GET /health: the API and its functions are up, on which stage',
    entry: 'functions/api-health/handler.ts',
    memoryMb: 256,
    timeoutSeconds: 5,
    triggers: [
      {
        kind: 'http',
        method: 'GET',
        path: '/health',
        publicBecause: 'It reveals only that the service is up and its stage name, and is throttled.',
        throttle: { rateLimit: 5, burstLimit: 10 },
      },
    ],
  },
]);
