import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { catalog } from '#functions/catalog.ts';
import { TABLE_ITEM_ACTIONS } from '#infra/salescaling-stack.ts';
import {
  type PolicyStatement as Statement,
  synthStack,
  type SynthTemplate as Template,
  type TemplateResource,
} from '#test/support/synth.ts';
import { prodReady } from './prod-ready.ts';

/**
 * The tables whose records carry authority (a sweep's run record decides its dry run and cap;
 * an idempotency record whether a lead or command is applied; the budget item how fast every
 * function may call Salescaling): each table's resource policy denies
 * every item-level read and write to every principal but the roles of the functions whose `access`
 * names it, whatever their IAM allows.
 */

const dev = synthStack(catalog);
const prod = synthStack(catalog, prodReady(), 'prod');

const resourcesOf = (template: Template, type?: string) =>
  Object.entries(template.toJSON().Resources as Record<string, TemplateResource>).filter(
    ([, r]) => !type || r.Type === type,
  );
const roleIdOf = (template: Template, fnName: string) =>
  resourcesOf(template, 'AWS::IAM::Role').find(
    ([, r]) => r.Properties.Description === `Runs the ${fnName} function`,
  )?.[0];
const tableId = (template: Template, prefix: string) => {
  const ids = resourcesOf(template, 'AWS::DynamoDB::Table')
    .map(([id]) => id)
    .filter((id) => id.startsWith(prefix));
  expect(ids).toHaveLength(1);
  return ids[0] as string;
};
const policyOf = (template: Template, prefix: string): Statement[] => {
  const table = template.toJSON().Resources[tableId(template, prefix)] as TemplateResource;
  return table.Properties.ResourcePolicy.PolicyDocument.Statement;
};
/** The role logical ids a Deny exempts (`aws:PrincipalArn` as `Fn::GetAtt [role, Arn]`). */
const exempted = (deny: Statement) =>
  (
    (deny.Condition?.ArnNotEquals?.['aws:PrincipalArn'] ?? []) as Array<{ 'Fn::GetAtt': [string, string] }>
  ).map((ref) => {
    expect(ref['Fn::GetAtt'][1]).toBe('Arn');
    return ref['Fn::GetAtt'][0];
  });

const tables = [
  { prefix: 'IdempotencyTable', access: 'idempotencyTable' },
  { prefix: 'SweepRunsTable', access: 'sweepRunsTable' },
  { prefix: 'BudgetTable', access: 'budgetTable' },
] as const;

describe('table resource policies', () => {
  it.each(tables)(
    '$prefix denies item reads and writes to all but the roles of the functions whose access names it',
    ({ prefix, access }) => {
      for (const template of [dev.template, prod.template]) {
        const statements = policyOf(template, prefix);
        expect(statements).toHaveLength(1);
        const [deny] = statements as [Statement];
        expect(deny).toMatchObject({
          Sid: 'OnlyItsFunctionsTouchItems',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Resource: '*',
        });
        expect([deny.Action].flat().sort()).toEqual(TABLE_ITEM_ACTIONS.map((a) => `dynamodb:${a}`).sort());
        expect(Object.keys(deny.Condition ?? {})).toEqual(['ArnNotEquals']);
        const users = catalog.filter((d) => d.access.includes(access)).map((d) => d.name);
        expect(users.length).toBeGreaterThan(0);
        expect(exempted(deny).sort()).toEqual(users.map((name) => roleIdOf(template, name)).sort());
      }
    },
  );

  it('names the functions the review expects: lead sync and commands for idempotency, the sweep for its runs', () => {
    const first = (prefix: string) => policyOf(dev.template, prefix)[0] as Statement;
    expect(exempted(first('IdempotencyTable')).sort()).toEqual(
      [roleIdOf(dev.template, 'integration-commands'), roleIdOf(dev.template, 'lead-sync')].sort(),
    );
    expect(exempted(first('SweepRunsTable'))).toEqual([roleIdOf(dev.template, 'stale-deals')]);
    expect(exempted(first('BudgetTable')).sort()).toEqual(
      ['integration-commands', 'lead-sync', 'stale-deals'].map((name) => roleIdOf(dev.template, name)).sort(),
    );
  });

  it('covers every item action, PartiQL included, and no table-level one', () => {
    expect([...TABLE_ITEM_ACTIONS].sort()).toEqual(
      [
        'BatchGetItem',
        'BatchWriteItem',
        'ConditionCheckItem',
        'DeleteItem',
        'GetItem',
        'PartiQLDelete',
        'PartiQLInsert',
        'PartiQLSelect',
        'PartiQLUpdate',
        'PutItem',
        'Query',
        'Scan',
        'UpdateItem',
      ].sort(),
    );
  });

  /** The Deny, evaluated as IAM documents `ArnNotEquals` (true when the key is absent). */
  const denied = (deny: Statement, principalArn: string | undefined) => {
    const list = exempted(deny);
    return principalArn === undefined || !list.includes(principalArn);
  };

  it('denies a same-account admin, a caller with no principal ARN and the other functions; lets its own through', () => {
    const [deny] = policyOf(dev.template, 'SweepRunsTable') as [Statement];
    const sweep = roleIdOf(dev.template, 'stale-deals') as string;
    expect(denied(deny, 'arn:aws:iam::123456789012:role/Admin')).toBe(true);
    expect(denied(deny, undefined)).toBe(true);
    for (const other of ['api-health', 'lead-ingest', 'lead-sync', 'integration-commands']) {
      expect(denied(deny, roleIdOf(dev.template, other)), other).toBe(true);
    }
    expect(denied(deny, sweep)).toBe(false);
  });

  it('denies everyone when no function names the table (a Deny with no exemption)', () => {
    const declarations = catalog.map((d) =>
      d.name === 'stale-deals' ? { ...d, access: d.access.filter((a) => a !== 'sweepRunsTable') } : d,
    );
    const { template } = synthStack(declarations);
    const [deny] = policyOf(template, 'SweepRunsTable') as [Statement];
    expect(deny).toMatchObject({ Effect: 'Deny', Principal: { AWS: '*' }, Resource: '*' });
    expect(deny.Condition).toBeUndefined();
  });

  it('synthesizes without a dependency cycle (the tables reference the roles; the roles never the tables)', () => {
    for (const template of [dev.template, prod.template]) {
      const all = template.toJSON().Resources as Record<
        string,
        TemplateResource & { DependsOn?: string | string[] }
      >;
      const edges = new Map<string, Set<string>>();
      for (const [id, resource] of Object.entries(all)) {
        const targets = new Set<string>([resource.DependsOn ?? []].flat());
        JSON.stringify(resource.Properties ?? {}, (key, value) => {
          if (key === 'Ref' && typeof value === 'string' && value in all) targets.add(value);
          if (key === 'Fn::GetAtt' && Array.isArray(value) && value[0] in all) targets.add(value[0]);
          return value;
        });
        edges.set(id, targets);
      }
      // Depth-first search with colours: grey on the stack means a cycle.
      const colour = new Map<string, 'grey' | 'black'>();
      const cycle: string[] = [];
      const visit = (id: string): boolean => {
        colour.set(id, 'grey');
        for (const next of edges.get(id) ?? []) {
          if (colour.get(next) === 'grey' || (!colour.has(next) && visit(next))) {
            cycle.push(id);
            return true;
          }
        }
        colour.set(id, 'black');
        return false;
      };
      for (const id of edges.keys()) if (!colour.has(id)) visit(id);
      expect(cycle).toEqual([]);
      // The edge that would close one: a table's policy names a role.
      const sweepTable = tableId(template, 'SweepRunsTable');
      expect([...(edges.get(sweepTable) ?? [])]).toContain(roleIdOf(template, 'stale-deals'));
    }
  });

  it('passes cdk-nag on both stages', () => {
    for (const { app } of [dev, prod]) {
      for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
        expect(pack.validateScope(app).violations).toEqual([]);
      }
    }
  });
});
