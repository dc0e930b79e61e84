import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { FunctionDeclaration } from '#functions/declaration.ts';
import { loadStageConfig, type StageConfig } from '#infra/config.ts';
import { SalescalingStack } from '#infra/salescaling-stack.ts';

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
  const stack = new SalescalingStack(app, 'Test', {
    stage,
    config: { ...config, ...overrides },
    declarations,
    projectRoot,
    env: { region: config.region },
  });
  return { app, stack, template: Template.fromStack(stack) };
}

/** A template resource as the infra tests read it: CloudFormation JSON, field by field. */
// biome-ignore lint/suspicious/noExplicitAny: synthesized CloudFormation is arbitrary JSON
export type TemplateResource = { Type: string; Properties: Record<string, any> };
