import { describe, expect, it } from 'vitest';
import { catalog } from '#functions/catalog.ts';
import type { FunctionDeclaration } from '#functions/declaration.ts';
import { loadStageConfig } from '#infra/config.ts';
import { DEFAULT_RETRY_SCHEDULE, receivesToRideOut } from '#shared/queues/retry.ts';
import { cdkContext, synthStack, type TemplateResource } from '#test/support/synth.ts';

/** Item 2 of issue 15, at synth: the queues and grants that let a Salescaling outage be ridden out. */
const { template } = synthStack(catalog);
const all = Object.entries(template.toJSON().Resources as Record<string, TemplateResource>);
const idOf = (prefix: string) => {
  const found = all.find(([id]) => new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id));
  if (!found) throw new Error(`no resource ${prefix}`);
  return found;
};
const functionOf = (name: string) => {
  const description = catalog.find((d) => d.name === name)?.description;
  const found = all.find(
    ([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties.Description === description,
  );
  if (!found) throw new Error(`no function ${name}`);
  return found;
};
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
const statementsOf = (functionName: string): Statement[] => {
  const roleRef = functionOf(functionName)[1].Properties.Role['Fn::GetAtt'][0];
  return all
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy')
    .filter(([, p]) => p.Properties.Roles.some((role: { Ref: string }) => role.Ref === roleRef))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
};
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resourcesOf = (s: Statement) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

const QUEUES = { 'lead-sync': 'LeadSyncLeadReceived', 'integration-commands': 'IntegrationCommandsCommands' };

describe('riding out a Salescaling outage, as synthesized', () => {
  // 37 at the defaults (6 h, 60 s doubling to 30 min, 720 s visibility timeout): see retry.ts.
  const derived = receivesToRideOut(DEFAULT_RETRY_SCHEDULE, 720);

  it.each(Object.entries(QUEUES))(
    "%s's queue keeps messages 4 days and redrives only after the receives the 6-hour window needs",
    (_name, prefix) => {
      const [, queue] = idOf(`${prefix}Queue`);
      expect(derived).toBe(37);
      expect(queue.Properties).toMatchObject({
        MessageRetentionPeriod: 345_600,
        VisibilityTimeout: 720,
        RedrivePolicy: { maxReceiveCount: derived },
      });
    },
  );

  it.each(Object.entries(QUEUES))(
    '%s is told the window, the backoff, its last receive and its own queue',
    (name, prefix) => {
      const [queueId] = idOf(`${prefix}Queue`);
      expect(functionOf(name)[1].Properties.Environment.Variables).toMatchObject({
        MAX_RECEIVE_COUNT: String(derived),
        RETRY_WINDOW_SECONDS: '21600',
        RETRY_BASE_SECONDS: '60',
        RETRY_CAP_SECONDS: '1800',
        SOURCE_QUEUE_URL: { Ref: queueId },
      });
    },
  );

  it.each(Object.entries(QUEUES))(
    '%s may change message visibility on its own queue only (not its dead-letter queue, not another)',
    (name, prefix) => {
      const [queueId] = idOf(`${prefix}Queue`);
      const granted = statementsOf(name).filter((s) => actions(s).includes('sqs:ChangeMessageVisibility'));
      expect(granted.flatMap(resourcesOf)).toEqual([{ 'Fn::GetAtt': [queueId, 'Arn'] }]);
      expect(granted.every((s) => s.Effect === 'Allow')).toBe(true);
    },
  );

  it("the stage's outage setting changes the derived count", () => {
    const { template: shorter } = synthStack(catalog, {
      outage: { windowMinutes: 60, retryBaseSeconds: 30, retryCapSeconds: 600 },
    });
    const schedule = { windowSeconds: 3600, baseSeconds: 30, capSeconds: 600 };
    const resources = shorter.toJSON().Resources as Record<string, TemplateResource>;
    const queue = Object.entries(resources).find(([id]) => /^LeadSyncLeadReceivedQueue[0-9A-F]{8}$/.test(id));
    expect(queue?.[1].Properties.RedrivePolicy.maxReceiveCount).toBe(receivesToRideOut(schedule, 720));
    expect(receivesToRideOut(schedule, 720)).toBeLessThan(derived);
  });

  it('fails synth, naming the function, when the window is not shorter than the queue retention', () => {
    expect(() =>
      synthStack(catalog, { outage: { windowMinutes: 5760, retryBaseSeconds: 60, retryCapSeconds: 1800 } }),
    ).toThrow(
      'lead-sync (queue lead-received): the queue keeps messages 345600 s, not longer than the 345600 s outage window',
    );
  });

  it('fails synth, naming the function, when a declared maxReceiveCount cannot cover the window', () => {
    const fixed = catalog.map(
      (d): FunctionDeclaration =>
        d.name === 'integration-commands'
          ? { ...d, triggers: d.triggers.map((t) => (t.kind === 'event' ? { ...t, maxReceiveCount: 5 } : t)) }
          : d,
    );
    expect(() => synthStack(fixed)).toThrow(
      `integration-commands (queue commands): maxReceiveCount 5 is below the ${derived} receives the 21600 s outage window needs`,
    );
  });

  it('refuses a backoff cap below its base, naming the setting', () => {
    const dev = cdkContext.stages.dev as Record<string, unknown>;
    const stages = { dev: { ...dev, outage: { retryBaseSeconds: 600, retryCapSeconds: 60 } } };
    expect(() => loadStageConfig('dev', stages)).toThrow(
      'stages.dev.outage.retryCapSeconds: retryCapSeconds must not be below retryBaseSeconds',
    );
  });
});
