import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { catalog } from '#functions/catalog.ts';
import { loadStageConfig } from '#infra/config.ts';
import { cdkContext, type SynthTemplate, synthStack, type TemplateResource } from '#test/support/synth.ts';
import { prodReady } from './prod-ready.ts';

/** Item 1 of issue 15: alarms that reach a person, and a prod stage that cannot ship placeholders. */

const dev = synthStack(catalog);
const prod = synthStack(catalog, prodReady(), 'prod');
const prodConfig = loadStageConfig('prod', cdkContext.stages).config;

const resourcesOf = (template: SynthTemplate, type: string) =>
  Object.entries(template.toJSON().Resources as Record<string, TemplateResource>).filter(
    ([, r]) => r.Type === type,
  );
const alarmsOf = (template: SynthTemplate) =>
  resourcesOf(template, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
type Statement = { Sid?: string; Effect: string; Principal?: unknown; Action: unknown; Condition?: unknown };

describe('the alarm topic lets CloudWatch publish, for this account only', () => {
  const fromOurAlarms = {
    StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
    ArnLike: {
      'aws:SourceArn': {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':cloudwatch:eu-west-1:',
            { Ref: 'AWS::AccountId' },
            ':alarm:*',
          ],
        ],
      },
    },
  };

  it("allows sns:Publish to cloudwatch.amazonaws.com on the topic, conditioned on this account's alarms", () => {
    const [[, policy]] = resourcesOf(dev.template, 'AWS::SNS::TopicPolicy') as [[string, TemplateResource]];
    const statements = policy.Properties.PolicyDocument.Statement as Statement[];
    const [topicId] = resourcesOf(dev.template, 'AWS::SNS::Topic').map(([id]) => id);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Sid: 'CloudWatchAlarmsPublish',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: { Ref: topicId },
        Condition: fromOurAlarms,
      }),
    );
    // The TLS-only deny stays; no other Allow.
    expect(statements.filter((s) => s.Effect === 'Allow')).toHaveLength(1);
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny' }));
  });

  it("lets CloudWatch use the topic's KMS key, with the same conditions, and no unconditioned grant", () => {
    const [[, key]] = resourcesOf(dev.template, 'AWS::KMS::Key') as [[string, TemplateResource]];
    const statements = key.Properties.KeyPolicy.Statement as Statement[];
    const forCloudWatch = statements.filter(
      (s) => JSON.stringify(s.Principal) === JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }),
    );
    expect(forCloudWatch).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Condition: fromOurAlarms,
      }),
    ]);
  });
});

describe('where alarms go', () => {
  const sendsTo = (template: SynthTemplate, action: unknown) => {
    const alarms = alarmsOf(template);
    expect(alarms.length).toBeGreaterThan(10);
    for (const alarm of alarms) expect(alarm.AlarmActions).toContainEqual(action);
  };

  it('sends every alarm to the stack topic, and to an existing topic when the stage names one', () => {
    sendsTo(dev.template, { Ref: expect.stringMatching(/^Alarms/) });
    const arn = 'arn:aws:sns:eu-west-1:123456789012:on-call';
    const { template } = synthStack(
      catalog,
      { ...prodReady(), alarms: { ...prodConfig.alarms, emails: [], existingTopicArn: arn } },
      'prod',
    );
    sendsTo(template, arn);
    sendsTo(template, { Ref: expect.stringMatching(/^Alarms/) });
  });

  it('fails prod synth, naming both settings, when alarms reach no one (placeholder addresses do not count)', () => {
    for (const emails of [[], ['oncall@example.com']]) {
      expect(() =>
        synthStack(catalog, { ...prodReady(), alarms: { ...prodConfig.alarms, emails } }, 'prod'),
      ).toThrow(
        /stages\.prod\.alarms\.emails \/ stages\.prod\.alarms\.existingTopicArn: alarms reach no one/,
      );
    }
  });

  it('refuses a malformed topic ARN, naming its path', () => {
    const stages = {
      prod: { ...(cdkContext.stages.prod as object), alarms: { existingTopicArn: 'on-call' } },
    };
    expect(() => loadStageConfig('prod', stages)).toThrow(
      /stages\.prod\.alarms\.existingTopicArn: must be an SNS topic ARN/,
    );
  });

  it("refuses an existing topic outside the stage's region (CloudWatch cannot notify it)", () => {
    const alarms = { ...prodConfig.alarms, existingTopicArn: 'arn:aws:sns:us-east-1:123456789012:on-call' };
    expect(() => synthStack(catalog, { ...prodReady(), alarms }, 'prod')).toThrow(
      /stages\.prod\.alarms\.existingTopicArn: is in us-east-1, but CloudWatch alarms in eu-west-1 can only notify a topic in eu-west-1/,
    );
  });

  it('does not require a destination on dev', () => {
    expect(loadStageConfig('dev', cdkContext.stages).config.alarms.emails).toEqual([]);
    expect(alarmsOf(dev.template).length).toBeGreaterThan(10);
  });
});

describe('prod placeholders', () => {
  const ready = prodReady();

  it("fails prod synth on cdk.json's placeholder thank-you page, naming the setting and the waiver", () => {
    expect(() => synthStack(catalog, { ...ready, leads: { ...prodConfig.leads } }, 'prod')).toThrow(
      /stages\.prod\.leads\.thankYouUrl: "https:\/\/www\.example\.com\/thank-you" is a placeholder; .*stages\.prod\.waivers\.placeholders/,
    );
  });

  it('fails prod synth on no allowed origin while the form route is deployed, or a placeholder origin', () => {
    const origins = (allowedOrigins: string[]) => ({ ...ready, api: { ...prodConfig.api, allowedOrigins } });
    expect(() => synthStack(catalog, origins([]), 'prod')).toThrow(
      /stages\.prod\.api\.allowedOrigins: empty while a form route is deployed \(POST \/leads, POST \/leads\/\{provider\}\)/,
    );
    expect(() => synthStack(catalog, origins(['http://localhost:3000']), 'prod')).toThrow(
      /stages\.prod\.api\.allowedOrigins: "http:\/\/localhost:3000" is a placeholder/,
    );
    // Without the form route, no origin is needed.
    const withoutForms = catalog.filter((d) => d.name !== 'lead-ingest');
    expect(() => synthStack(withoutForms, origins([]), 'prod')).not.toThrow();
  });

  it('lists every problem of the shipped cdk.json prod stage at once', () => {
    expect(() => synthStack(catalog, {}, 'prod')).toThrow(
      /not ready for production[\s\S]*alarms\.emails[\s\S]*leads\.thankYouUrl[\s\S]*api\.allowedOrigins/,
    );
  });

  it('passes with the placeholders waived by a reason, but never the missing alarm destination', () => {
    const waived = { waivers: { placeholders: 'Webhooks only: no browser form posts here.' } };
    const placeholders = { leads: prodConfig.leads, api: prodConfig.api };
    expect(() => synthStack(catalog, { ...ready, ...placeholders, ...waived }, 'prod')).not.toThrow();
    expect(() =>
      synthStack(catalog, { ...ready, ...placeholders, ...waived, alarms: prodConfig.alarms }, 'prod'),
    ).toThrow(/alarms reach no one/);
    const stages = { prod: { ...(cdkContext.stages.prod as object), waivers: { placeholders: 'ok' } } };
    expect(() => loadStageConfig('prod', stages)).toThrow(
      /stages\.prod\.waivers\.placeholders: must give the reason/,
    );
  });

  it('leaves dev alone (localhost is its real origin)', () => {
    expect(() => synthStack(catalog)).not.toThrow();
  });

  it('a ready prod stage finds nothing unacknowledged in cdk-nag', () => {
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
      const findings = pack
        .validateScope(prod.app)
        .violations.map(
          (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(', ')}`,
        );
      expect(findings).toEqual([]);
    }
  });
});

describe('the missing alarms', () => {
  const alarms = alarmsOf(prod.template);
  const queueIds = resourcesOf(prod.template, 'AWS::SQS::Queue').map(([id]) => id);
  const dlqIds = queueIds.filter((id) => /Dlq[0-9A-F]{8}$/.test(id));
  const functionQueueIds = queueIds.filter((id) => !dlqIds.includes(id));

  it("alarms on each function queue's oldest message, at the configured age", () => {
    expect(functionQueueIds.length).toBeGreaterThanOrEqual(3);
    for (const id of functionQueueIds) {
      expect(alarms).toContainEqual(
        expect.objectContaining({
          MetricName: 'ApproximateAgeOfOldestMessage',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id, 'QueueName'] } }],
          Statistic: 'Maximum',
          Threshold: 30 * 60,
        }),
      );
    }
    const { template } = synthStack(catalog, {
      alarms: { ...loadStageConfig('dev', cdkContext.stages).config.alarms, oldestMessageMinutes: 90 },
    });
    expect(alarmsOf(template)).toContainEqual(
      expect.objectContaining({ MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 90 * 60 }),
    );
  });

  it('alarms on each dead-letter queue four days before its letters expire', () => {
    for (const id of dlqIds) {
      const [, dlq] = resourcesOf(prod.template, 'AWS::SQS::Queue').find(([q]) => q === id) as [
        string,
        TemplateResource,
      ];
      expect(dlq.Properties.MessageRetentionPeriod).toBe(14 * 86400);
      expect(alarms).toContainEqual(
        expect.objectContaining({
          MetricName: 'ApproximateAgeOfOldestMessage',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id, 'QueueName'] } }],
          Threshold: 10 * 86400,
        }),
      );
    }
  });

  it('alarms when a function runs past 80% of its timeout', () => {
    const functions = resourcesOf(prod.template, 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThanOrEqual(5);
    for (const [id, fn] of functions) {
      expect(alarms).toContainEqual(
        expect.objectContaining({
          MetricName: 'Duration',
          Namespace: 'AWS/Lambda',
          Statistic: 'Maximum',
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: id } }],
          Threshold: fn.Properties.Timeout * 1000 * 0.8,
        }),
      );
    }
  });

  const notRunning = (template: SynthTemplate) =>
    alarmsOf(template).filter((a) => a.MetricName === 'Invocations');

  it('alarms when the daily sweep has not run for 26 hours (no invocation counts as breaching)', () => {
    const [sweep] = resourcesOf(prod.template, 'AWS::Lambda::Function').find(([, f]) =>
      String(f.Properties.Description).startsWith('Closes open opportunities'),
    ) as [string, TemplateResource];
    expect(notRunning(prod.template)).toEqual([
      expect.objectContaining({
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: sweep } }],
        Period: 3600,
        EvaluationPeriods: 26,
        DatapointsToAlarm: 26,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      }),
    ]);
  });

  it('has no such alarm for a switched-off schedule or one whose spacing it cannot read (weekly)', () => {
    const devAlarms = loadStageConfig('dev', cdkContext.stages).config;
    const off = synthStack(catalog, { ...devAlarms, schedules: { 'stale-deals': { enabled: false } } });
    expect(notRunning(off.template)).toEqual([]);
    const weekly = synthStack(catalog, { schedules: { 'stale-deals': { cron: '0 6 ? * MON *' } } });
    expect(notRunning(weekly.template)).toEqual([]);
  });
});

describe("the shared budget's fallback (issue 16)", () => {
  it('alarms when requests went through the static share in three 5-minute periods running', () => {
    expect(alarmsOf(prod.template)).toContainEqual(
      expect.objectContaining({
        Namespace: 'SalescalingAutomation',
        MetricName: 'BudgetFallback',
        Dimensions: [{ Name: 'service', Value: 'salescaling-automation' }],
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      }),
    );
  });

  it('plots it on the dashboard beside the Salescaling calls', () => {
    const [[, dashboard]] = resourcesOf(prod.template, 'AWS::CloudWatch::Dashboard') as [
      [string, TemplateResource],
    ];
    expect(JSON.stringify(dashboard.Properties.DashboardBody)).toContain(
      '\\"BudgetFallback\\",\\"service\\",\\"salescaling-automation\\",{\\"stat\\":\\"Sum\\"}',
    );
  });
});

describe('logs and dashboard', () => {
  it('every function logs in JSON, filtered at the stage log level', () => {
    for (const [template, level] of [
      [dev.template, 'DEBUG'],
      [prod.template, 'INFO'],
    ] as const) {
      for (const [, fn] of resourcesOf(template, 'AWS::Lambda::Function')) {
        expect(fn.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON', ApplicationLogLevel: level });
      }
    }
  });

  it('plots per-lead figures as an Average, counts as a Sum', () => {
    const [[, dashboard]] = resourcesOf(dev.template, 'AWS::CloudWatch::Dashboard') as [
      [string, TemplateResource],
    ];
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    const optionsOf = (metric: string) =>
      new RegExp(`\\\\"${metric}\\\\",\\\\"service\\\\",\\\\"salescaling-automation\\\\",(\\{[^}]*\\})`).exec(
        body,
      )?.[1];
    // CDK leaves out a dashboard metric's stat when it is CloudWatch's default, Average.
    expect(optionsOf('SalescalingCallsPerLead')).toBe('{\\"yAxis\\":\\"right\\"}');
    expect(optionsOf('LeadsAccepted')).toBe('{\\"stat\\":\\"Sum\\"}');
  });
});
