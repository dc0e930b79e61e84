import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { FunctionDeclaration } from '#functions/declaration.ts';
import { loadStageConfig, type StageConfig } from '#infra/config.ts';
import { SalescalingStack } from '#infra/salescaling-stack.ts';
import type { EventDefinition } from '#shared/events/catalog.ts';
import { fixtureCatalog, fixtureEvents } from '#test/fixtures/catalog.ts';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
export const cdkContext = JSON.parse(readFileSync(`${projectRoot}/cdk.json`, 'utf8')).context as {
  stages: Record<string, unknown>;
};

/** Synthesizes the stack for a catalog (bundling with the local esbuild), as `cdk synth` would. */
export function synthStack(
  declarations: readonly FunctionDeclaration[],
  overrides: Partial<StageConfig> = {},
  stageName: 'dev' | 'prod' = 'dev',
) {
  const { stage, config } = loadStageConfig(stageName, cdkContext.stages);
  const app = new App();
  // The fixture functions publish the fixture events; any other catalog, the product's.
  const events: readonly EventDefinition[] | undefined =
    declarations === fixtureCatalog ? fixtureEvents : undefined;
  const stack = new SalescalingStack(app, 'Test', {
    stage,
    config: { ...config, ...overrides },
    declarations,
    projectRoot,
    events,
    env: { region: config.region },
  });
  return { app, stack, template: Template.fromStack(stack) };
}

/** A template resource as the infra tests read it: CloudFormation JSON, field by field. */
// biome-ignore lint/suspicious/noExplicitAny: synthesized CloudFormation is arbitrary JSON
export type TemplateResource = { Type: string; Properties: Record<string, any> };
export type SynthTemplate = ReturnType<typeof synthStack>['template'];
/** A resource-policy statement as synthesized, for the policy tests. */
export type PolicyStatement = {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};
