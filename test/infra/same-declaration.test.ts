import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalog } from '#functions/catalog.ts';
import type { FunctionDeclaration } from '#functions/declaration.ts';
import type { LocalRuntime } from '#local/runtime/runtime.ts';
import { startQuietRuntime } from '#local/tools/system.ts';
import { fixtureCatalog } from '#test/fixtures/catalog.ts';
import { synthStack, type TemplateResource } from '#test/support/synth.ts';

/**
 * The CDK stack and the local runtime are built from the same declarations: what one exposes
 * (routes, rules and their patterns, schedules, each function's environment variables), the other
 * does too, for the product's catalog and for a fixture catalog that uses every trigger kind.
 */
type Resource = TemplateResource;

describe.each([
  ['the product catalog', catalog],
  ['the fixture catalog', fixtureCatalog],
] as const)('%s', (_, declarations: readonly FunctionDeclaration[]) => {
  let runtime: LocalRuntime;
  const { template } = synthStack(declarations);
  const resources = Object.values(template.toJSON().Resources as Record<string, Resource>);
  const ofType = (type: string) => resources.filter((r) => r.Type === type).map((r) => r.Properties);

  beforeAll(async () => {
    runtime = await startQuietRuntime({ declarations });
  });
  afterAll(async () => {
    await runtime?.close();
  });

  it('exposes the same routes', async () => {
    const local = (await (await fetch(`${runtime.url}/_local/functions`)).json()) as {
      routes: { route: string }[];
    };
    const stack = ofType('AWS::ApiGatewayV2::Route').map((r) => r.RouteKey);
    expect(local.routes.map((r) => r.route).sort()).toEqual(stack.sort());
  });

  it('routes the same events with the same patterns', async () => {
    const local = (await (await fetch(`${runtime.url}/_local/functions`)).json()) as {
      rules: { pattern: unknown }[];
    };
    const stack = ofType('AWS::Events::Rule').map((r) => r.EventPattern);
    expect(local.rules.map((r) => r.pattern)).toEqual(expect.arrayContaining(stack));
    expect(local.rules).toHaveLength(stack.length);
  });

  it('runs the same schedules, in the same time zones', async () => {
    const local = (await (await fetch(`${runtime.url}/_local/functions`)).json()) as {
      schedules: { expression: string; timeZone: string }[];
    };
    const stack = ofType('AWS::Scheduler::Schedule').map((s) => ({
      expression: s.ScheduleExpression,
      timeZone: s.ScheduleExpressionTimezone,
    }));
    expect(local.schedules.map(({ expression, timeZone }) => ({ expression, timeZone }))).toEqual(
      expect.arrayContaining(stack),
    );
    expect(local.schedules).toHaveLength(stack.length);
  });

  it('gives each function the same environment variables', () => {
    const localOnly = /^(AWS_|PATH$|TZ$|POWERTOOLS_TRACE_ENABLED$)/;
    const stackOnly = new Set(['NODE_OPTIONS']);
    const stackFunctions = ofType('AWS::Lambda::Function');
    for (const declaration of declarations) {
      const inStack = stackFunctions.find((f) => f.Description === declaration.description);
      const stackKeys = Object.keys(inStack?.Environment.Variables ?? {}).filter((k) => !stackOnly.has(k));
      const localKeys = Object.keys(runtime.hosts.get(declaration.name)?.environment ?? {}).filter(
        (k) => !localOnly.test(k),
      );
      expect(localKeys.sort()).toEqual(stackKeys.sort());
    }
  });
});
