import type { CfnQueue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { catalog } from '#functions/catalog.ts';
import { type SynthTemplate, synthStack, type TemplateResource } from '#test/support/synth.ts';
import { prodReady } from './prod-ready.ts';

/** Item 7 of issue 15: what a `destroy` (or a replacement) leaves, and termination protection. */

const dev = synthStack(catalog);
const prod = synthStack(catalog, prodReady(), 'prod');

type Resource = TemplateResource & { DeletionPolicy?: string; UpdateReplacePolicy?: string };
const resourcesOf = (template: SynthTemplate, type: string) =>
  Object.entries(template.toJSON().Resources as Record<string, Resource>)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => ({ id, ...r }));

/** Every resource holding data: the only copy of what a lead, a dead letter or a replay needs. */
const dataOf = ({ stack, template }: ReturnType<typeof synthStack>) => {
  const queues = resourcesOf(template, 'AWS::SQS::Queue');
  // The stack's own list: redrive targets, the rules' target dead-letter queues and the schedules' one.
  const dlqIds = new Set(
    stack.deadLetterQueues.map((q) => stack.getLogicalId(q.node.defaultChild as CfnQueue)),
  );
  return {
    deadLetterQueues: queues.filter((q) => dlqIds.has(q.id)),
    functionQueues: queues.filter((q) => !dlqIds.has(q.id)),
    buses: resourcesOf(template, 'AWS::Events::EventBus'),
    archives: resourcesOf(template, 'AWS::Events::Archive'),
    secrets: resourcesOf(template, 'AWS::SecretsManager::Secret'),
    tables: resourcesOf(template, 'AWS::DynamoDB::Table'),
    logGroups: resourcesOf(template, 'AWS::Logs::LogGroup'),
  };
};

const policies = (resources: Resource[]) =>
  resources.map((r) => ({ DeletionPolicy: r.DeletionPolicy, UpdateReplacePolicy: r.UpdateReplacePolicy }));
const all = (policy: string, count: number) =>
  Array.from({ length: count }, () => ({ DeletionPolicy: policy, UpdateReplacePolicy: policy }));

describe('removal: prod (retainData) keeps every resource holding data; dev deletes them', () => {
  const prodData = dataOf(prod);
  const devData = dataOf(dev);

  it('finds the data resources it checks (the dead-letter queues, bus, archive, secrets, tables, logs)', () => {
    // One per event trigger and one per function with schedules.
    expect(prodData.deadLetterQueues.length).toBeGreaterThanOrEqual(3);
    expect(prodData.deadLetterQueues.length).toBe(devData.deadLetterQueues.length);
    expect(prodData.buses).toHaveLength(1);
    expect(prodData.archives).toHaveLength(1);
    expect(prodData.secrets).toHaveLength(2);
    expect(prodData.tables).toHaveLength(3);
    expect(prodData.logGroups.length).toBeGreaterThanOrEqual(2);
  });

  for (const kind of ['deadLetterQueues', 'buses', 'archives', 'secrets', 'tables', 'logGroups'] as const) {
    it(`${kind}: Retain on delete and on replacement with prod, Delete with dev`, () => {
      expect(policies(prodData[kind])).toEqual(all('Retain', prodData[kind].length));
      expect(policies(devData[kind])).toEqual(all('Delete', devData[kind].length));
    });
  }

  it('keeps no function queue: its messages are redelivered or dead-lettered, and the dead letters kept', () => {
    expect(prodData.functionQueues.length).toBeGreaterThan(0);
    expect(policies(prodData.functionQueues)).toEqual(all('Delete', prodData.functionQueues.length));
  });

  it('keeps the archive on the bus it was made on (a replay can only go to that bus)', () => {
    const [archive] = prodData.archives;
    const [bus] = prodData.buses;
    expect(archive?.Properties.SourceArn).toEqual({ 'Fn::GetAtt': [bus?.id, 'Arn'] });
  });

  it('retained resources with fixed names are exactly the two secrets, the bus and the archive (docs/teardown.md)', () => {
    const named = Object.values(prodData)
      .flat()
      .filter((r) => r.DeletionPolicy === 'Retain')
      .flatMap((r) => {
        const name =
          r.Properties.Name ??
          r.Properties.ArchiveName ??
          r.Properties.QueueName ??
          r.Properties.LogGroupName ??
          r.Properties.TableName;
        return name === undefined ? [] : [`${r.Type} ${name}`];
      });
    expect(named.sort()).toEqual([
      'AWS::Events::Archive salescaling-automation-prod',
      'AWS::Events::EventBus salescaling-automation-prod',
      'AWS::SecretsManager::Secret salescaling-automation/prod/salescaling-api-key',
      'AWS::SecretsManager::Secret salescaling-automation/prod/webhook-signing-secrets',
    ]);
  });
});

describe('termination protection: a stage setting, on for prod by default', () => {
  const protectionOf = (synth: ReturnType<typeof synthStack>) =>
    synth.app.synth().getStackByName(synth.stack.stackName).terminationProtection;

  it('is on for prod and off for dev when the stage does not set it', () => {
    expect(protectionOf(prod)).toBe(true);
    expect(protectionOf(dev)).toBe(false);
  });

  it('follows the setting either way', () => {
    expect(protectionOf(synthStack(catalog, { ...prodReady(), terminationProtection: false }, 'prod'))).toBe(
      false,
    );
    expect(protectionOf(synthStack(catalog, { terminationProtection: true }))).toBe(true);
  });
});
