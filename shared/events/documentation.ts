import * as z from 'zod';
import { adapters } from './adapters.ts';
import { allEvents, EVENT_SOURCE, type EventDefinition } from './catalog.ts';

/**
 * What is generated from the catalog: a JSON Schema (draft-4, what the EventBridge schema registry
 * takes) for every event, and the human-readable catalog `docs/events.md`.
 */
export function jsonSchemaOf(event: EventDefinition): Record<string, unknown> {
  return z.toJSONSchema(event.schema, { target: 'draft-4', io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
}

/** The registry's schema name for an event: `salescaling.automation@LeadReceived`. */
export function registrySchemaName(event: EventDefinition): string {
  return `${EVENT_SOURCE}@${event.detailType.replace(/[^A-Za-z0-9]/g, '')}`;
}

export function renderEventCatalog(): string {
  const section = (direction: 'inbound' | 'outbound') => allEvents.filter((e) => e.direction === direction);
  const lines: string[] = [
    '# Event catalog',
    '',
    '<!-- Generated from shared/events/catalog.ts by `npm run docs:events`; a test fails when this file is out of date. -->',
    '',
    "Every event on the project's EventBridge bus (`salescaling-automation-<stage>`; locally",
    '`salescaling-automation-local` at `http://127.0.0.1:3000`). Each detail carries `schemaVersion`.',
    "The JSON Schemas are in the stack's EventBridge schema registry (`salescaling-automation-<stage>`).",
    '',
    '## Inbound: commands other systems put on the bus',
    '',
    'Put them with any `Source` except `' +
      EVENT_SOURCE +
      '`, the `DetailType` below and the detail as JSON.',
    'They are consumed through a queue with a dead-letter queue, idempotent on the EventBridge event id',
    '(replaying an event changes nothing), under the shared Salescaling request budget. A command that',
    'fails validation goes straight to the dead-letter queue with its errors and a `Command Rejected`',
    'event; it is not retried. Each applied command is answered by `Command Applied` and its result events.',
    '',
    '```ts',
    "import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';",
    'await new EventBridgeClient({}).send(new PutEventsCommand({ Entries: [{',
    "  EventBusName: 'salescaling-automation-prod', Source: 'billing.example', DetailType: 'Close Opportunity',",
    "  Detail: JSON.stringify({ schemaVersion: 1, opportunityId: '…', outcome: 'won', reason: 'Invoice paid' }),",
    '}] }));',
    '```',
    '',
  ];
  for (const event of section('inbound')) lines.push(...renderEvent(event));
  lines.push(
    '## Worked examples: upstream events as commands, without code',
    '',
    'Each is an EventBridge rule on the bus with an input transformer (`shared/events/adapters.ts`), deployed',
    "by the stack and run by the local bus. Route the provider's events to the bus with the source and",
    'detail-type shown; the command keeps the upstream event id, so a redelivery is applied once.',
    '',
  );
  for (const adapter of adapters) {
    lines.push(
      `### ${adapter.name}`,
      '',
      adapter.description,
      '',
      'Matches:',
      '',
      '```json',
      JSON.stringify(adapter.pattern, null, 2),
      '```',
      '',
      'Delivers (`<name>` is the value at its path):',
      '',
      '| Name | Path |',
      '| --- | --- |',
      ...Object.entries(adapter.inputPaths).map(([name, path]) => `| \`${name}\` | \`${path}\` |`),
      '',
      '```json',
      JSON.stringify(adapter.template, null, 2),
      '```',
      '',
    );
  }
  lines.push('## Outbound: what the product publishes', '', `Source \`${EVENT_SOURCE}\`.`, '');
  for (const event of section('outbound')) lines.push(...renderEvent(event));
  return `${lines.join('\n').trimEnd()}\n`;
}

function renderEvent(event: EventDefinition): string[] {
  const rows = fieldRows(jsonSchemaOf(event), '', true);
  return [
    `### ${event.detailType}`,
    '',
    `Version ${event.version}. ${event.direction === 'inbound' ? 'Consumed by' : 'Published by'} \`${event.by}\`. Registry schema \`${registrySchemaName(event)}\`.`,
    '',
    event.description,
    '',
    '| Field | Type | Required |',
    '| --- | --- | --- |',
    ...rows,
    '',
    'Example detail:',
    '',
    '```json',
    JSON.stringify(event.example, null, 2),
    '```',
    '',
  ];
}

type JsonSchema = {
  type?: unknown;
  enum?: unknown[];
  const?: unknown;
  format?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  items?: JsonSchema;
};

/** One row per field, nested objects flattened (`contact.email`); alternatives marked. */
function fieldRows(schema: JsonSchema, prefix: string, required: boolean): string[] {
  const forms = schema.anyOf;
  if (forms?.every((option) => option.properties)) {
    return forms.flatMap((option, i) =>
      fieldRows(option, `${prefix}${prefix ? ' ' : ''}(form ${i + 1} of ${forms.length})`, required),
    );
  }
  if (!schema.properties) return [];
  const requiredFields = new Set(schema.required ?? []);
  return Object.entries(schema.properties).flatMap(([name, property]) => {
    const path = prefix ? `${prefix.replace(/ \(form/, '.(form')}.${name}`.replace('..', '.') : name;
    const isRequired = required && requiredFields.has(name);
    const nested = property.properties || property.anyOf?.every((o) => o.properties);
    const row = `| \`${path}\` | ${describeType(property)} | ${isRequired ? 'yes' : 'no'} |`;
    return nested ? [row, ...fieldRows(property, path, isRequired)] : [row];
  });
}

function describeType(property: JsonSchema): string {
  if (property.const !== undefined) return JSON.stringify(property.const);
  if (property.enum) return property.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (property.type === 'array')
    return `array of ${property.items ? describeType(property.items) : 'values'}`;
  if (property.format) return `${String(property.type)} (${property.format})`;
  if (typeof property.type === 'string') return property.type;
  if (Array.isArray(property.type)) return property.type.join(' or ');
  if (property.anyOf)
    return property.anyOf.every((o) => o.properties)
      ? 'object (one of the forms below)'
      : property.anyOf.map(describeType).join(' or ');
  return 'any';
}
