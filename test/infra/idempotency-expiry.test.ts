import { describe, expect, it } from 'vitest';
import { catalog } from '#functions/catalog.ts';
import { cdkContext, synthStack, type TemplateResource } from '#test/support/synth.ts';
import { prodReady } from './prod-ready.ts';

/** Item 4 of issue 15, at synth: idempotency records outlive the archive a replay reads from. */

const DAY = 24 * 3600;
/** IDEMPOTENCY_EXPIRY_SECONDS of every function that keeps idempotency records. */
const expiries = (template: ReturnType<typeof synthStack>['template']) =>
  Object.values(template.toJSON().Resources as Record<string, TemplateResource>)
    .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables)
    .filter((r) => 'IDEMPOTENCY_TABLE_NAME' in r.Properties.Environment.Variables)
    .map((r) => r.Properties.Environment.Variables.IDEMPOTENCY_EXPIRY_SECONDS);
const archiveDays = (template: ReturnType<typeof synthStack>['template']) =>
  (
    Object.values(template.toJSON().Resources as Record<string, TemplateResource>).find(
      (r) => r.Type === 'AWS::Events::Archive',
    ) as TemplateResource
  ).Properties.RetentionDays;

describe('idempotency records outlive the bus archive', () => {
  it('gives both functions that keep records the archive retention + 14 days, on dev and prod', () => {
    const stages = cdkContext.stages as Record<string, { eventArchiveRetentionDays: number }>;
    for (const [stage, overrides] of [
      ['dev', {}],
      ['prod', prodReady()],
    ] as const) {
      const { template } = synthStack(catalog, overrides, stage);
      const retention = stages[stage]?.eventArchiveRetentionDays as number;
      expect(archiveDays(template)).toBe(retention);
      // lead-sync and integration-commands, each with the same derived value.
      expect(expiries(template)).toEqual([String((retention + 14) * DAY), String((retention + 14) * DAY)]);
    }
  }, 120_000);

  it('takes an explicit idempotencyExpiryDays as it is, when it covers the archive', () => {
    const { template } = synthStack(catalog, { eventArchiveRetentionDays: 30, idempotencyExpiryDays: 30 });
    expect(archiveDays(template)).toBe(30);
    expect(expiries(template)).toEqual([String(30 * DAY), String(30 * DAY)]);
  }, 120_000);

  it('fails synth, naming both settings, when records would expire before the archive', () => {
    expect(() => synthStack(catalog, { ...prodReady(), idempotencyExpiryDays: 7 }, 'prod')).toThrow(
      'Stage "prod": idempotencyExpiryDays 7 is shorter than eventArchiveRetentionDays 90',
    );
  });
});
