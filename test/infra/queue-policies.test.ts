import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { catalog } from '#functions/catalog.ts';
import { loadStageConfig } from '#infra/config.ts';
import {
  cdkContext,
  type PolicyStatement as Statement,
  synthStack,
  type SynthTemplate as Template,
  type TemplateResource,
} from '#test/support/synth.ts';

/**
 * The rule-target queues: EventBridge delivering from the queue's own rules may send to it, and so
 * may the stage's redrive roles; every other principal is denied, whatever its IAM allows, so no one
 * goes around the bus policy by writing a `Lead Received` straight into lead sync's queue.
 */

const OPERATOR = 'arn:aws:iam::123456789012:role/ops/salescaling-redrive';
const real = synthStack(catalog);
const withOperators = synthStack(catalog, { operators: { redriveRoleArns: [OPERATOR] } });

const resourcesOf = (template: Template, type: string) =>
  Object.entries(template.toJSON().Resources as Record<string, TemplateResource>).filter(
    ([, r]) => r.Type === type,
  );
const idOf = (ref: unknown) => (ref as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];

/** Each rule-target queue's logical id, with the logical ids of the rules that target it. */
function ruleTargets(template: Template): Map<string, string[]> {
  const targets = new Map<string, string[]>();
  for (const [ruleId, rule] of resourcesOf(template, 'AWS::Events::Rule')) {
    for (const target of rule.Properties.Targets as Array<{ Arn: unknown }>) {
      const queueId = idOf(target.Arn);
      targets.set(queueId, [...(targets.get(queueId) ?? []), ruleId]);
    }
  }
  return targets;
}

function policyOf(template: Template, queueId: string): Statement[] {
  const policies = resourcesOf(template, 'AWS::SQS::QueuePolicy').filter(([, p]) =>
    (p.Properties.Queues as Array<{ Ref: string }>).some((q) => q.Ref === queueId),
  );
  expect(policies, queueId).toHaveLength(1);
  return policies[0]?.[1].Properties.PolicyDocument.Statement as Statement[];
}

describe('rule-target queue policies', () => {
  it('every rule-target queue denies SendMessage to all but its own rules, in the one policy the targets use', () => {
    const targets = ruleTargets(real.template);
    expect([...targets.keys()].filter((id) => !id.includes('Dlq')).length).toBe(3);
    for (const [queueId, ruleIds] of targets) {
      if (queueId.includes('Dlq')) continue;
      const statements = policyOf(real.template, queueId);
      // The targets' Allows for EventBridge, one per rule, are still there.
      const allows = statements.filter((s) => s.Effect === 'Allow');
      expect(allows.map((s) => idOf(s.Condition?.ArnEquals?.['aws:SourceArn'])).sort(), queueId).toEqual(
        [...ruleIds].sort(),
      );
      for (const allow of allows) expect(allow.Principal).toEqual({ Service: 'events.amazonaws.com' });
      const denies = statements.filter((s) => s.Sid === 'OnlyItsRulesSend');
      expect(denies, queueId).toHaveLength(1);
      expect(denies[0]).toMatchObject({
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
      });
      const condition = denies[0]?.Condition ?? {};
      expect(Object.keys(condition)).toEqual(['ArnNotEquals']);
      expect(Object.keys(condition.ArnNotEquals ?? {})).toEqual(['aws:SourceArn']);
      expect(
        ((condition.ArnNotEquals?.['aws:SourceArn'] ?? []) as unknown[]).map(idOf).sort(),
        queueId,
      ).toEqual([...ruleIds].sort());
    }
  });

  it('names the three queues the review found open, with their adapters for the commands queue', () => {
    const targets = ruleTargets(real.template);
    const named = (prefix: string) => [...targets.entries()].find(([id]) => id.startsWith(prefix));
    expect(named('LeadSyncLeadReceivedQueue')?.[1]).toHaveLength(1);
    expect(named('StaleDealsStaleSweepContinuedQueue')?.[1]).toHaveLength(1);
    expect(named('IntegrationCommandsCommandsQueue')?.[1].length).toBeGreaterThan(1);
  });

  it('exempts the redrive roles of the operators setting, and only them', () => {
    for (const [queueId] of ruleTargets(withOperators.template)) {
      if (queueId.includes('Dlq')) continue;
      const deny = policyOf(withOperators.template, queueId).find((s) => s.Sid === 'OnlyItsRulesSend');
      expect(deny?.Condition?.ArnNotEquals?.['aws:PrincipalArn'], queueId).toEqual([OPERATOR]);
    }
  });

  /**
   * The Deny, evaluated as IAM documents its operators: `ArnNotEquals` is true when the key is
   * absent, and the keys of one operator must all match for the condition to hold.
   */
  const denied = (deny: Statement, context: Record<string, string>) =>
    Object.entries(deny.Condition?.ArnNotEquals ?? {}).every(([key, values]) => {
      const present = context[key];
      const list = (values as unknown[]).map((v) => (typeof v === 'string' ? v : `rule:${idOf(v)}`));
      return present === undefined || !list.includes(present);
    });

  it('denies a same-account principal, EventBridge from another rule, and no one the policy means to let in', () => {
    const [[queueId, [ruleId = '']]] = [...ruleTargets(withOperators.template)].filter(([id]) =>
      id.startsWith('LeadSyncLeadReceivedQueue'),
    ) as [[string, string[]]];
    const deny = policyOf(withOperators.template, queueId).find((s) => s.Sid === 'OnlyItsRulesSend');
    if (!deny) throw new Error('no Deny');
    expect(denied(deny, { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:role/admin' })).toBe(true);
    expect(denied(deny, {})).toBe(true);
    expect(denied(deny, { 'aws:SourceArn': 'rule:SomeoneElsesRule' })).toBe(true);
    expect(denied(deny, { 'aws:SourceArn': `rule:${ruleId}` })).toBe(false);
    expect(denied(deny, { 'aws:PrincipalArn': OPERATOR })).toBe(false);
    // Without the setting, the operator is denied like anyone else.
    const strict = policyOf(real.template, queueId).find((s) => s.Sid === 'OnlyItsRulesSend');
    if (!strict) throw new Error('no Deny');
    expect(denied(strict, { 'aws:PrincipalArn': OPERATOR })).toBe(true);
  });

  it('passes cdk-nag with the setting', () => {
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
      expect(pack.validateScope(withOperators.app).violations).toEqual([]);
    }
  });

  it('refuses a redrive principal that is not an IAM role ARN, naming its path', () => {
    const stages = {
      dev: {
        ...(cdkContext.stages.dev as object),
        operators: { redriveRoleArns: [OPERATOR, 'arn:aws:iam::123456789012:user/alice'] },
      },
    };
    expect(() => loadStageConfig('dev', stages)).toThrow(
      /stages\.dev\.operators\.redriveRoleArns\.1: must be an IAM role ARN/,
    );
    expect(loadStageConfig('dev', cdkContext.stages).config.operators).toEqual({ redriveRoleArns: [] });
  });
});
