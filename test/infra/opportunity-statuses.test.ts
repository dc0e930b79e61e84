import { describe, expect, it } from 'vitest';
import { catalog } from '#functions/catalog.ts';
import { loadStageConfig } from '#infra/config.ts';
import { DEFAULT_OPPORTUNITY_STATUSES } from '#shared/salescaling/assumptions.ts';
import { cdkContext, synthStack, type TemplateResource } from '#test/support/synth.ts';

/** The account's statuses: one stage setting, the same JSON in every function that reads or writes one. */
const statusesOf = (template: ReturnType<typeof synthStack>['template']) =>
  Object.values(template.findResources('AWS::Lambda::Function') as Record<string, TemplateResource>)
    .map((fn) => fn.Properties.Environment?.Variables ?? {})
    .filter((env) => 'SALESCALING_API_KEY_SECRET_ID' in env)
    .map((env) => env.OPPORTUNITY_STATUSES);

describe('opportunity statuses', () => {
  it('default to the assumptions module, for every function that calls Salescaling', () => {
    const { config } = loadStageConfig('dev', cdkContext.stages);
    expect(config.salescaling.opportunityStatuses).toEqual(DEFAULT_OPPORTUNITY_STATUSES);
    const statuses = statusesOf(synthStack(catalog).template);
    // lead-sync, stale-deals, integration-commands
    expect(statuses).toHaveLength(3);
    for (const value of statuses) expect(JSON.parse(value)).toEqual(DEFAULT_OPPORTUNITY_STATUSES);
  });

  it("carry a stage's own names to every function", () => {
    const { config } = loadStageConfig('dev', cdkContext.stages);
    const mine = { open: 'In progress', won: 'Closed won', lost: 'Closed lost' };
    const statuses = statusesOf(
      synthStack(catalog, { salescaling: { ...config.salescaling, opportunityStatuses: mine } }).template,
    );
    expect(statuses.map((value) => JSON.parse(value))).toEqual([mine, mine, mine]);
  });

  it('fail synth, naming the setting, when two are the same or one is empty', () => {
    const stages = structuredClone(cdkContext.stages) as Record<string, { salescaling: object }>;
    stages.dev = {
      ...stages.dev,
      salescaling: { ...stages.dev?.salescaling, opportunityStatuses: { won: 'closed', lost: 'closed' } },
    };
    expect(() => loadStageConfig('dev', stages)).toThrow(
      /stages\.dev\.salescaling\.opportunityStatuses: open, won and lost must be three different statuses/,
    );
    stages.dev.salescaling = { opportunityStatuses: { open: ' ' } };
    expect(() => loadStageConfig('dev', stages)).toThrow(
      /stages\.dev\.salescaling\.opportunityStatuses\.open/,
    );
  });

  it("say where the stale sweep's old status settings went", () => {
    const stages = structuredClone(cdkContext.stages) as Record<string, { staleDeals: object }>;
    stages.prod = { ...stages.prod, staleDeals: { dryRun: false, closedStatus: 'lost' } };
    expect(() => loadStageConfig('prod', stages)).toThrow(
      'stages.prod.staleDeals.closedStatus: moved to stages.prod.salescaling.opportunityStatuses.lost',
    );
  });
});
