import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allEvents, events } from '#shared/events/catalog.ts';
import { jsonSchemaOf, registrySchemaName, renderEventCatalog } from '#shared/events/documentation.ts';

describe('the event catalog', () => {
  it('docs/events.md is the catalog as generated (run `npm run docs:events` after changing an event)', () => {
    const committed = readFileSync(new URL('../../docs/events.md', import.meta.url), 'utf8');
    expect(committed).toBe(renderEventCatalog());
  });

  it("builds an event's schema when it is first used, and only once (not at cold start)", () => {
    for (const event of allEvents) {
      expect(typeof Object.getOwnPropertyDescriptor(event, 'schema')?.get).toBe('function');
      expect(event.schema).toBe(event.schema);
    }
  });

  it.each(allEvents.map((e) => [e.detailType, e] as const))(
    '%s: its example is valid and carries its version',
    (_, event) => {
      const parsed = event.schema.safeParse(event.example);
      expect(parsed.success).toBe(true);
      expect((event.example as { schemaVersion?: number }).schemaVersion).toBe(event.version);
    },
  );

  it('every event has a draft-4 JSON Schema and a unique registry name', () => {
    const names = allEvents.map(registrySchemaName);
    expect(new Set(names).size).toBe(names.length);
    for (const event of allEvents) {
      expect(jsonSchemaOf(event)).toMatchObject({
        $schema: 'http://json-schema.org/draft-04/schema#',
        type: 'object',
      });
    }
  });

  it('refuses a command with the offending fields named', () => {
    const result = events.closeOpportunity.schema.safeParse({
      schemaVersion: 1,
      opportunityId: 'x',
      outcome: 'maybe',
    });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.error.issues.map((i) => i.path.join('.')).sort()).toEqual([
      'opportunityId',
      'outcome',
      'reason',
    ]);
  });
});
