import { describe, expect, it } from 'vitest';
import { catalog } from '#functions/catalog.ts';
import { synthStack, type TemplateResource } from '#test/support/synth.ts';
import { prodReady } from './prod-ready.ts';

/** The stale-deal run records: their table, and who may touch it (aws-cdk-lib/assertions). */
const dev = synthStack(catalog);
const prod = synthStack(catalog, prodReady(), 'prod');

const resourcesOf = (template: typeof dev.template, type: string) =>
  Object.entries(
    template.toJSON().Resources as Record<string, TemplateResource & { DeletionPolicy?: string }>,
  )
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => ({ id, ...r }));
const sweepRunsTable = (template: typeof dev.template) => {
  const tables = resourcesOf(template, 'AWS::DynamoDB::Table').filter((t) =>
    t.id.startsWith('SweepRunsTable'),
  );
  expect(tables).toHaveLength(1);
  return tables[0] as (typeof tables)[number];
};

describe('the sweep runs table', () => {
  it('is on demand, keyed by run id, encrypted at rest, recoverable and expiring', () => {
    // Its resource policy: test/infra/table-policies.test.ts.
    const { ResourcePolicy, ...properties } = sweepRunsTable(dev.template).Properties;
    expect(ResourcePolicy.PolicyDocument.Statement).toHaveLength(1);
    expect(properties).toEqual({
      KeySchema: [{ AttributeName: 'runId', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'runId', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      // No SSESpecification: DynamoDB's encryption at rest with the AWS owned key, as the idempotency table.
    });
  });

  it('follows the stage: deleted with a dev stack, kept with prod (retainData)', () => {
    expect(sweepRunsTable(dev.template).DeletionPolicy).toBe('Delete');
    expect(sweepRunsTable(prod.template).DeletionPolicy).toBe('Retain');
  });

  it('is named to stale-deals alone, which may get, put and update its items and nothing else', () => {
    const tableId = sweepRunsTable(dev.template).id;
    const touchesTable = (statement: { Resource: unknown }) =>
      JSON.stringify(statement.Resource).includes(tableId);
    const roles = resourcesOf(dev.template, 'AWS::IAM::Role');
    const policies = resourcesOf(dev.template, 'AWS::IAM::Policy');
    const grantsByRole = new Map<string, Array<{ Action: string | string[]; Resource: unknown }>>();
    for (const policy of policies) {
      for (const role of policy.Properties.Roles as Array<{ Ref: string }>) {
        const description = String(roles.find((r) => r.id === role.Ref)?.Properties.Description);
        grantsByRole.set(description, [
          ...(grantsByRole.get(description) ?? []),
          ...(policy.Properties.PolicyDocument.Statement as Array<{
            Action: string | string[];
            Resource: unknown;
          }>),
        ]);
      }
    }
    const onTable = [...grantsByRole].flatMap(([role, statements]) =>
      statements
        .filter(touchesTable)
        .map((s) => ({ role, actions: [s.Action].flat(), resource: s.Resource })),
    );
    expect(onTable).toEqual([
      {
        role: 'Runs the stale-deals function',
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resource: { 'Fn::GetAtt': [tableId, 'Arn'] },
      },
    ]);
    // And no other DynamoDB action anywhere for the sweep (but on the shared budget's table).
    const sweepDynamoActions = (grantsByRole.get('Runs the stale-deals function') ?? [])
      .filter((s) => !JSON.stringify(s.Resource).includes('BudgetTable'))
      .flatMap((s) => [s.Action].flat())
      .filter((a) => a.startsWith('dynamodb:'));
    expect(sweepDynamoActions).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);

    const withVariable = resourcesOf(dev.template, 'AWS::Lambda::Function').filter(
      (f) => f.Properties.Environment?.Variables?.SWEEP_RUNS_TABLE_NAME !== undefined,
    );
    expect(withVariable.map((f) => f.Properties.Environment.Variables.SWEEP_RUNS_TABLE_NAME)).toEqual([
      { Ref: tableId },
    ]);
    expect(String(withVariable[0]?.Properties.Description)).toMatch(/^Closes open opportunities/);
  });
});
