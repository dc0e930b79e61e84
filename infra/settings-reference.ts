import * as z from 'zod';
import { stageConfigSchema } from './config.ts';

/**
 * The stage settings reference (`docs/configuration.md`): every setting's path, type, default and
 * whether it is required come from the schema itself; the descriptions live here, beside it, and a
 * test fails when a setting has none (or a description names a setting that no longer exists).
 */
export const settingDescriptions: Record<string, string> = {
  account:
    'AWS account id; without it the stack is environment-agnostic and the account is resolved at deploy time.',
  region: 'AWS region to deploy to.',
  logRetentionDays: "Retention of every log group, in days (one of CloudWatch's periods).",
  logLevel: 'Functions’ log level.',
  retainData:
    'Keep the data when the stack is deleted or a resource replaced: the secrets, both tables, the log groups, the dead-letter queues, and the bus with its archive (see docs/teardown.md).',
  terminationProtection:
    'CloudFormation termination protection (a `destroy` is refused until it is turned off). Default: true on prod, false on every other stage.',
  'salescaling.baseUrl': 'The Salescaling API base URL.',
  'salescaling.existingApiKeySecretName':
    'Use this existing secret for the API key instead of creating an empty one.',
  'salescaling.maxRequestsPerSecond':
    'The Salescaling request budget, shared by every invocation that may call it at once.',
  'salescaling.maxConcurrency': 'Requests in flight per client.',
  'salescaling.opportunityStatuses.open':
    "Your account's status of a deal in progress: what lead sync and Upsert Opportunity create, and the only status the stale sweep closes. Salescaling does not publish its values (docs/salescaling-assumptions.md): set yours.",
  'salescaling.opportunityStatuses.won': 'The status Close Opportunity writes for outcome `won`.',
  'salescaling.opportunityStatuses.lost':
    'The status Close Opportunity writes for outcome `lost`, and the stale sweep for a stale deal. The three statuses must differ.',
  'api.throttle.rateLimit': 'Stage-wide API throttling: requests per second (routes may declare their own).',
  'api.throttle.burstLimit': 'Stage-wide API throttling: burst.',
  'api.allowedOrigins': 'Origins whose browser forms may post to /leads (CORS and the origin check).',
  'leads.thankYouUrl': "Where accepted HTML form posts are redirected: your site's thank-you page.",
  'leads.fieldMapping':
    'Which submitted field fills which lead field, per provider and form (see Lead capture).',
  'staleDeals.staleAfterDays': 'Stale after this many days without an update; null switches the rule off.',
  'staleDeals.overdueGraceDays':
    'Stale when the close date passed more than this many days ago; null switches it off.',
  'staleDeals.timeZone': 'Whose calendar days count for close dates.',
  'staleDeals.excludePriorities': 'Never close deals of these priorities.',
  'staleDeals.excludeAmountAtLeast': 'Never close deals worth at least this much.',
  'staleDeals.excludeNamePatterns':
    'Never close deals whose name matches one of these regular expressions (any case).',
  'staleDeals.excludeIntegrationTypes': 'Never close deals with an integration of one of these types.',
  'staleDeals.dryRun': 'Report only. Default: true on every stage but prod.',
  'staleDeals.maxClosesPerRun': 'The cap on closes per run.',
  'staleDeals.pageSize': 'Opportunities per page read.',
  schedules: 'Per schedule name: `cron`, `timeZone` or `enabled`, overriding the catalog.',
  eventArchiveRetentionDays: 'How long the bus archive keeps events for replay.',
  idempotencyExpiryDays:
    'How long lead sync and integration-commands remember each event id (and each opportunity’s newest applied command). Default: `eventArchiveRetentionDays` + 14; synth fails when it is shorter than the archive retention, since a replay older than it would apply again (see docs/replays.md).',
  'outage.windowMinutes':
    'How long a Salescaling outage is ridden out: a queue record failing on Salescaling 5xx, 429, timeouts or network errors is retried with backoff for this long from its first receive, then dead-lettered with its reason. The lead-sync and command queues’ maxReceiveCount is derived from it; it must stay below the queues’ 4-day retention. See docs/outages.md.',
  'outage.retryBaseSeconds':
    'The delay before a failing record’s second try; it doubles with each failure (jittered between half and all of it) up to `outage.retryCapSeconds`.',
  'outage.retryCapSeconds':
    'The longest delay between tries of a failing record (SQS allows at most 43,200 s).',
  'commands.allowDelete':
    'Whether Delete Opportunity is applied. Off by default on every stage: a delete cannot be undone; while off, each Delete Opportunity is rejected (Command Rejected, dead-lettered) and Salescaling is never called. Only integrations that name `Delete Opportunity` in their `detailTypes` may send it. See docs/integrations.md.',
  integrations:
    "Outside systems allowed to put events on the bus, each `{ name, principals?: [IAM role or user ARNs], accounts?: [account ids], sources: [...], detailTypes?: [...] }` (at least one principal or account): the bus policy allows each to PutEvents with its own `sources` only, and only the inbound commands its `detailTypes` names (default: every inbound command of the event catalog but Delete Opportunity, which an integration may send only by naming it), plus the upstream detail type of each worked-example adapter that turns one of its sources into one of those commands. A source equal to or starting with `salescaling.automation` (the project's, which only its functions may use) or `aws.`, or a detail type that is not an inbound command, fails synth. An `accounts` entry delegates to that account's IAM. See docs/bus-trust.md.",
  'operators.redriveRoleArns':
    "IAM role ARNs (with their path, as IAM shows them) allowed to redrive dead letters back to the rule-target queues (`npm run redrive`, run as one of these roles). Every such queue's policy denies `sqs:SendMessage` to all but EventBridge delivering from the queue's own rules and these roles; SQS's message-move task needs that permission on the destination. Empty: no one can redrive (replay from the archive instead). See docs/bus-trust.md.",
  'alarms.emails':
    'Email subscribers of the alarm topic (each confirms the subscription from its email). Prod needs this or `alarms.existingTopicArn`: synth fails otherwise; addresses on example.com and other reserved domains do not count.',
  'alarms.existingTopicArn':
    "An existing SNS topic, in the stage's region (synth fails otherwise), that every alarm also notifies (on-call tooling, chat). Its policy must let `cloudwatch.amazonaws.com` publish (and its KMS key, if any, let CloudWatch use it): this stack cannot change a topic it does not own. See docs/alarms.md.",
  'alarms.oldestMessageMinutes':
    "Age in minutes of a function queue's oldest message that raises the alarm (a backlog or an outage being retried).",
  'alarms.durationNearTimeoutPercent':
    "A function's longest run in five minutes, as a percentage of its timeout, that raises the alarm.",
  'waivers.placeholders':
    'A reason to deploy prod with placeholder lead settings: a `leads.thankYouUrl` or `api.allowedOrigins` entry on a reserved domain (example.com, localhost, …), or no `api.allowedOrigins` while the form route is deployed (e.g. webhooks only, no browser forms). Without it prod synth fails naming each.',
  'alarms.api5xxThreshold': 'API 5xx answers in five minutes that raise the alarm.',
  'alarms.apiLatencyP99Ms': 'API p99 latency in milliseconds that raises the alarm.',
  'alarms.salescaling429Threshold':
    'Salescaling 429s in five minutes, three periods running, that raise the alarm.',
};

type Json = {
  type?: string | string[];
  properties?: Record<string, Json>;
  required?: string[];
  default?: unknown;
  enum?: unknown[];
  anyOf?: Json[];
  additionalProperties?: unknown;
  items?: Json;
};

export interface SettingRow {
  path: string;
  type: string;
  required: boolean;
  default: unknown;
}

/** Every setting (leaf) of the stage schema, with its type, whether it is required and its default. */
export function settingRows(): SettingRow[] {
  const schema = z.toJSONSchema(stageConfigSchema, { io: 'input', unrepresentable: 'any' }) as Json;
  const rows: SettingRow[] = [];
  const walk = (node: Json, prefix: string, required: boolean) => {
    const requiredHere = new Set(node.required ?? []);
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      const path = prefix ? `${prefix}.${name}` : name;
      const isRequired = required && requiredHere.has(name) && child.default === undefined;
      if (child.properties && !(path in settingDescriptions)) walk(child, path, isRequired);
      else rows.push({ path, type: typeOf(child), required: isRequired, default: child.default });
    }
  };
  walk(schema, '', true);
  return rows;
}

function typeOf(node: Json): string {
  if (node.enum) return node.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (node.anyOf) return node.anyOf.map(typeOf).join(' or ');
  if (node.type === 'array') return `array of ${node.items ? typeOf(node.items) : 'values'}`;
  if (node.type === 'object') return 'object';
  return Array.isArray(node.type) ? node.type.join(' or ') : (node.type ?? 'any');
}

export function renderSettingsReference(): string {
  const lines = [
    '# Stage settings',
    '',
    '<!-- Generated from infra/config.ts by `npm run docs:config`; a test fails when this file is out of date. -->',
    '',
    'Per stage in `cdk.json` under `context.stages.<stage>` (`dev`, `prod`). Synth validates them and names',
    'any that is missing or wrong, e.g. `stages.prod.region: must be an AWS region such as eu-west-1`.',
    '',
    '| Setting | Type | Required | Default | Meaning |',
    '| --- | --- | --- | --- | --- |',
    ...settingRows().map(
      (row) =>
        `| \`${row.path}\` | ${row.type} | ${row.required ? 'yes' : 'no'} | ${row.default === undefined ? '' : `\`${JSON.stringify(row.default)}\``} | ${settingDescriptions[row.path] ?? ''} |`,
    ),
    '',
  ];
  return lines.join('\n');
}
