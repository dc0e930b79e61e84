import { fileURLToPath } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { catalog } from '#functions/catalog.ts';
import { loadStageConfig } from './config.ts';
import { SalescalingStack } from './salescaling-stack.ts';

/**
 * The CDK app: one stack per stage (`-c stage=dev|prod`), built from the function catalog and the
 * stage's validated settings in cdk.json, checked by cdk-nag (AWS Solutions and Serverless packs)
 * on every synth.
 */
export function buildApp(app: App = new App()) {
  const { stage, config } = loadStageConfig(
    app.node.tryGetContext('stage'),
    app.node.tryGetContext('stages'),
  );
  const stack = new SalescalingStack(app, `SalescalingAutomation-${stage}`, {
    stage,
    config,
    declarations: catalog,
    projectRoot: fileURLToPath(new URL('..', import.meta.url)),
    env: { account: config.account, region: config.region },
    description: `Salescaling automation (${stage}): lead capture, stale-deal closing, integrations`,
    tags: { project: 'salescaling-automation', stage },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack };
}

if (import.meta.main) {
  try {
    buildApp().app.synth();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
