import { adapters } from '#shared/events/adapters.ts';
import { commands, EVENT_SOURCE } from '#shared/events/catalog.ts';
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
  {
    name: 'lead-ingest',
    description: 'Verifies, validates and accepts leads from forms and form tools, publishing Lead Received',
    entry: 'functions/lead-ingest/handler.ts',
    memoryMb: 512,
    timeoutSeconds: 10,
    environment: { HONEYPOT_FIELD: 'contact_me_by_fax_only', MAX_BODY_BYTES: '102400' },
    access: ['eventBus', 'webhookSigningSecrets'],
    settings: ['allowedOrigins', 'thankYouUrl', 'leadFieldMapping'],
    triggers: [
      {
        kind: 'http',
        method: 'POST',
        path: '/leads',
        publicBecause:
          'Browser forms post here; a honeypot, an origin allowlist and route throttling guard it, and nothing reaches Salescaling unvalidated.',
        throttle: { rateLimit: 10, burstLimit: 20 },
      },
      {
        kind: 'http',
        method: 'POST',
        path: '/leads/{provider}',
        publicBecause:
          'Form tools post here; every request must carry a valid HMAC signature of its raw body.',
        throttle: { rateLimit: 20, burstLimit: 40 },
      },
    ],
  },
  {
    name: 'lead-sync',
    description:
      'Turns each Lead Received into one opportunity linked to its contact and company, exactly once',
    entry: 'functions/lead-sync/handler.ts',
    memoryMb: 512,
    timeoutSeconds: 120,
    access: ['salescalingApiKey', 'budgetTable', 'eventBus', 'idempotencyTable', 'deadLetterQueue'],
    settings: ['opportunityStatuses'],
    triggers: [
      {
        kind: 'event',
        name: 'lead-received',
        pattern: { source: ['salescaling.automation'], 'detail-type': ['Lead Received'] },
        batchSize: 5,
        // No maxReceiveCount: derived from the stage's outage window (functions/queue-retries.ts).
        maxConcurrency: 2,
        // Worst case 8: a new lead measures 7 (local/tools/bench/calls-per-lead.ts: find contact,
        // create it, find company, create it, create opportunity, link both), plus one when the
        // company is looked up by domain and then by name. Orphan searches past one page add more.
        callsPerRecord: 8,
      },
    ],
  },
  {
    name: 'stale-deals',
    description:
      'Closes open opportunities nobody works: dry run by default outside prod, capped, with an audit trail',
    entry: 'functions/stale-deals/handler.ts',
    memoryMb: 512,
    timeoutSeconds: 900,
    access: ['salescalingApiKey', 'budgetTable', 'eventBus', 'sweepRunsTable'],
    settings: ['staleDealsConfig', 'opportunityStatuses'],
    triggers: [
      {
        kind: 'schedule',
        name: 'stale-deals',
        description: 'The daily stale-deal sweep',
        expression: { cron: '0 6 * * ? *' },
        timeZone: 'Europe/Madrid',
        input: {},
        retryAttempts: 2,
        maxEventAgeSeconds: 3600,
      },
      {
        kind: 'event',
        name: 'stale-sweep-continued',
        pattern: { source: ['salescaling.automation'], 'detail-type': ['Stale Sweep Continued'] },
        batchSize: 1,
        // Not derived from the outage window: a continuation waits its 90-minute visibility timeout
        // between receives (4.5 h in all), and the next daily sweep starts afresh anyway.
        maxReceiveCount: 3,
        maxConcurrency: 2,
        // The sweep continues in a new invocation a minute before its timeout (sweep.ts).
        callsPerRecord: 'self-paced',
      },
    ],
  },
  {
    name: 'integration-commands',
    description:
      'Applies the commands other systems put on the bus: upsert, link, unlink, close and (where allowed) delete opportunities',
    entry: 'functions/integration-commands/handler.ts',
    memoryMb: 512,
    // A batch of 5 × 8 calls at 0.67 requests/s (prod, all busy) takes about 60 s: 120 s leaves room for retries.
    timeoutSeconds: 120,
    access: ['salescalingApiKey', 'budgetTable', 'eventBus', 'idempotencyTable', 'deadLetterQueue'],
    settings: ['opportunityStatuses', 'commandsConfig'],
    triggers: [
      {
        kind: 'event',
        name: 'commands',
        pattern: {
          source: [{ 'anything-but': EVENT_SOURCE }],
          'detail-type': commands.map((command) => command.detailType),
        },
        // 5, not 10: throughput is set by the budget share, not the batch; a smaller batch fits the timeout.
        batchSize: 5,
        // No maxReceiveCount: derived from the stage's outage window (functions/queue-retries.ts).
        maxConcurrency: 2,
        // Worst case 8, from commands.ts: Upsert Opportunity is lead sync's upsert (8, above);
        // link/unlink is a list and a write (2); close reads and writes the opportunity; delete
        // reads and deletes it (2).
        callsPerRecord: 8,
        adapters,
      },
    ],
  },
]);
