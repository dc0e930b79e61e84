import { describe, expect, it } from 'vitest';
import { catalog } from '#functions/catalog.ts';
import type { FunctionDeclaration } from '#functions/declaration.ts';
import { loadStageConfig } from '#infra/config.ts';
import { cdkContext, synthStack, type TemplateResource } from '#test/support/synth.ts';
import { prodReady } from './prod-ready.ts';

/** Item 3 of issue 15, at synth: settings that do not fit are not deployed, on any stage. */

const queuesOf = (template: ReturnType<typeof synthStack>['template']) =>
  Object.values(template.toJSON().Resources as Record<string, TemplateResource>).filter(
    (r) => r.Type === 'AWS::SQS::Queue' && r.Properties.RedrivePolicy !== undefined,
  );

describe('synth checks that queue settings fit their functions', () => {
  it('synthesizes dev and prod, each function queue with 6× its timeout', () => {
    for (const [stage, overrides] of [
      ['dev', {}],
      ['prod', prodReady()],
    ] as const) {
      const { template } = synthStack(catalog, overrides, stage);
      const timeouts = queuesOf(template)
        .map((q) => q.Properties.VisibilityTimeout)
        .sort();
      // lead-sync and integration-commands (120 s), stale-deals (900 s).
      expect(timeouts).toEqual([5400, 720, 720].sort());
    }
  });

  it("fails synth naming the function when today's integration-commands settings meet prod's budget", () => {
    const before = catalog.map(
      (d): FunctionDeclaration =>
        d.name === 'integration-commands'
          ? {
              ...d,
              timeoutSeconds: 60,
              triggers: d.triggers.map((t) =>
                t.kind === 'event' ? { ...t, batchSize: 10, callsPerRecord: 7 } : t,
              ),
            }
          : d,
    );
    const prodBudget = loadStageConfig('prod', cdkContext.stages).config.salescaling;
    expect(() => synthStack(before, { ...prodReady(), salescaling: prodBudget }, 'prod')).toThrow(
      'integration-commands (queue commands): batchSize 10 × 7 calls per record ÷ 0.67 requests/s = 104.5 s, over its 60 s timeout',
    );
  });

  it("fails synth when the stage's budget is too small for the catalog", () => {
    const { config } = loadStageConfig('dev', cdkContext.stages);
    expect(() =>
      synthStack(catalog, { salescaling: { ...config.salescaling, maxRequestsPerSecond: 2 } }),
    ).toThrow(/Queue settings do not fit their functions:\n {2}lead-sync \(queue lead-received\)/);
  });
});
