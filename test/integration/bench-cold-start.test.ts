import { describe, expect, it } from 'vitest';
import { assertFloorsAreLowerBounds, benchColdStart, SDK_FLOORS } from '#local/tools/bench/cold-start.ts';

/**
 * The cold-start benchmark (`npm run bench -- --only cold-start`) in one round: every function's
 * bundle as synthesized, every reference, every first event checked. Its figures are not asserted
 * (speed lives in the benchmark, not in tests); what is asserted is that it still runs, and that each
 * SDK floor is a lower bound: every AWS request a floor makes, its function's first event makes too.
 */
describe('the cold-start benchmark', () => {
  it('runs one round, and each function makes every request its SDK floor makes', {
    timeout: 180_000,
  }, async () => {
    const section = await benchColdStart(process.cwd(), 1);
    const json = section.json as {
      functions: { function: string; requests: Record<string, number>; cpuMs: { median: number } }[];
      sdkFloors: { function: string; requests: Record<string, number> }[];
    };
    expect(json.functions.map((f) => f.function).sort()).toEqual(
      ['api-health', 'integration-commands', 'lead-ingest', 'lead-sync', 'stale-deals'].sort(),
    );
    for (const [fn, floorName] of Object.entries(SDK_FLOORS)) {
      const floor = json.sdkFloors.find((f) => f.function === floorName);
      const made = json.functions.find((f) => f.function === fn)?.requests ?? {};
      expect(Object.keys(floor?.requests ?? {}).length, floorName).toBeGreaterThan(0);
      for (const op of Object.keys(floor?.requests ?? {}))
        expect(made, `${fn} makes ${op}`).toHaveProperty([op]);
    }
  });

  it('refuses a floor that makes a request its function does not', () => {
    const samples = new Map([
      ['lead-ingest', [{ requests: { 'AWSEvents.PutEvents': 1 } }]],
      [
        'sdk-floor-lead-ingest',
        [{ requests: { 'AWSEvents.PutEvents': 1, 'secretsmanager.GetSecretValue': 1 } }],
      ],
    ]);
    expect(() => assertFloorsAreLowerBounds(samples)).toThrow(
      'The SDK floor sdk-floor-lead-ingest makes secretsmanager.GetSecretValue, which lead-ingest',
    );
  });
});
