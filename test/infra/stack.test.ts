import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { catalog } from '#functions/catalog.ts';
import { loadStageConfig } from '#infra/config.ts';
import { allEvents, EVENT_SOURCE } from '#shared/events/catalog.ts';
import { publishedDetailTypes } from '#shared/events/publishers.ts';
import { fixtureCatalog } from '#test/fixtures/catalog.ts';
import { cdkContext, synthStack, type TemplateResource } from '#test/support/synth.ts';
import { prodReady } from './prod-ready.ts';

const fixture = synthStack(fixtureCatalog);
const real = synthStack(catalog);
type Resource = TemplateResource;

const resources = (template = fixture.template, type?: string) =>
  Object.entries(template.toJSON().Resources as Record<string, Resource>).filter(
    ([, r]) => !type || r.Type === type,
  );

type Statement = { Action: string | string[]; Resource: unknown };

/** The policy statements attached to the role with this description. */
const statementsOfRole = (template: typeof real.template, description: string): Statement[] => {
  const roleId = resources(template, 'AWS::IAM::Role').find(
    ([, r]) => r.Properties.Description === description,
  )?.[0];
  return resources(template, 'AWS::IAM::Policy')
    .filter(([, p]) => p.Properties.Roles.some((role: { Ref: string }) => role.Ref === roleId))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
};

const functionNamed = (name: string) => {
  const found = resources(fixture.template, 'AWS::Lambda::Function').find(
    ([, r]) =>
      String(r.Properties.Description ?? '').length > 0 &&
      fixtureCatalog.find((d) => d.name === name)?.description === r.Properties.Description,
  );
  if (!found) throw new Error(`no function ${name}`);
  return found;
};

describe('functions', () => {
  it('every function runs Node 24 on arm64 with tracing and its own log group with retention', () => {
    for (const { template } of [fixture, real]) {
      const functions = resources(template, 'AWS::Lambda::Function');
      expect(functions.length).toBeGreaterThan(0);
      for (const [, fn] of functions) {
        expect(fn.Properties).toMatchObject({
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          TracingConfig: { Mode: 'Active' },
          LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
        });
      }
      for (const [, group] of resources(template, 'AWS::Logs::LogGroup')) {
        expect(group.Properties.RetentionInDays).toBe(14);
      }
    }
    fixture.template.resourceCountIs('AWS::Lambda::Function', fixtureCatalog.length);
  });

  it('sets memory, timeout and the merged environment from the declaration', () => {
    const [, echo] = functionNamed('echo-http');
    expect(echo.Properties).toMatchObject({ MemorySize: 256, Timeout: 5 });
    expect(echo.Properties.Environment.Variables).toMatchObject({
      STAGE: 'dev',
      FIXTURE_SETTING: 'from-the-declaration',
      POWERTOOLS_SERVICE_NAME: 'salescaling-automation',
      EVENT_BUS_NAME: { Ref: expect.any(String) },
    });
    // Source maps are shipped but not read at run time: that costs every cold start (docs/performance.md).
    expect(echo.Properties.Environment.Variables).not.toHaveProperty('NODE_OPTIONS');
    expect(echo.Properties.Environment.Variables).not.toHaveProperty('SALESCALING_API_KEY_SECRET_ID');
    const [, reader] = functionNamed('read-secret');
    expect(reader.Properties.Environment.Variables).toHaveProperty('SALESCALING_API_KEY_SECRET_ID', {
      Ref: expect.any(String),
    });
    expect(reader.Properties.Environment.Variables).not.toHaveProperty('EVENT_BUS_NAME');
  });
});

describe('triggers', () => {
  it('routes every HTTP trigger, with route throttling and JSON access logs', () => {
    const keys = resources(fixture.template, 'AWS::ApiGatewayV2::Route')
      .map(([, r]) => r.Properties.RouteKey)
      .sort();
    expect(keys).toEqual(['GET /broken', 'GET /echo/{id}', 'GET /secret-check', 'POST /echo']);
    fixture.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      RouteSettings: { 'POST /echo': { ThrottlingRateLimit: 2, ThrottlingBurstLimit: 4 } },
      AccessLogSettings: { Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"') },
    });
  });

  it('turns event triggers into rules on the project bus with the declared pattern, into a queue', () => {
    fixture.template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: Match.stringLikeRegexp('^Bus') },
      EventPattern: {
        source: ['test.fixture'],
        'detail-type': ['Fixture Doomed'],
        detail: { priority: [{ numeric: ['>=', 1] }] },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('FixtureDoomedQueue'), 'Arn'] },
          DeadLetterConfig: Match.anyValue(),
        }),
      ],
    });
    fixture.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('gives every queue a dead-letter queue, and every dead-letter queue is one', () => {
    const queues = resources(fixture.template, 'AWS::SQS::Queue');
    const dlqIds = new Set(
      queues
        .map(([, q]) => q.Properties.RedrivePolicy?.deadLetterTargetArn?.['Fn::GetAtt']?.[0])
        .filter(Boolean),
    );
    for (const [id, queue] of queues) {
      const isDlq = /Dlq[0-9A-F]{8}$/.test(id);
      if (isDlq) expect(queue.Properties.RedrivePolicy).toBeUndefined();
      else
        expect(dlqIds.has(queue.Properties.RedrivePolicy?.deadLetterTargetArn?.['Fn::GetAtt']?.[0])).toBe(
          true,
        );
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    }
    expect(queues.filter(([id]) => !/Dlq[0-9A-F]{8}$/.test(id))).toHaveLength(2);
    expect(queues.filter(([id]) => /Dlq[0-9A-F]{8}$/.test(id))).toHaveLength(4);
    fixture.template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { maxReceiveCount: 3 },
      VisibilityTimeout: 30,
    });
  });

  it('creates schedules in their time zone, with retries and a dead-letter queue', () => {
    fixture.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 7 ? * MON-FRI *)',
      ScheduleExpressionTimezone: 'Europe/Madrid',
      State: 'ENABLED',
      Target: Match.objectLike({
        Input: JSON.stringify({ job: 'tick', dryRun: true }),
        RetryPolicy: Match.objectLike({ MaximumEventAgeInSeconds: 3600 }),
        DeadLetterConfig: { Arn: Match.anyValue() },
      }),
    });
    fixture.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
  });
});

describe('resources and permissions', () => {
  it('has a bus with an archive, and an empty API key secret', () => {
    fixture.template.resourceCountIs('AWS::Events::EventBus', 1);
    fixture.template.hasResourceProperties('AWS::Events::Archive', { RetentionDays: 7 });
    // No `KmsKeyIdentifier: ""` (aws/aws-cdk#37847): some regions reject the deployment.
    const [[, archive]] = resources(fixture.template, 'AWS::Events::Archive') as [[string, Resource]];
    expect(archive.Properties).not.toHaveProperty('KmsKeyIdentifier');
    const [[, secret]] = resources(fixture.template, 'AWS::SecretsManager::Secret') as [[string, Resource]];
    expect(secret.Properties.Name).toBe('salescaling-automation/dev/salescaling-api-key');
    expect(secret.Properties).not.toHaveProperty('GenerateSecretString');
    expect(secret.Properties).not.toHaveProperty('SecretString');
  });

  it('imports an existing secret by name instead of creating one', () => {
    const { template } = synthStack(catalog, {
      salescaling: {
        ...loadStageConfig('dev', cdkContext.stages).config.salescaling,
        existingApiKeySecretName: 'team/salescaling',
      },
    });
    // Only the signing secrets remain; the API key secret is the imported one.
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'salescaling-automation/dev/webhook-signing-secrets',
    });
  });

  it('grants only X-Ray on "*"; every other action is scoped to a resource', () => {
    for (const [, policy] of resources(fixture.template, 'AWS::IAM::Policy')) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        const actions = [statement.Action].flat();
        if ([statement.Resource].flat().includes('*')) {
          expect(actions.every((a: string) => a.startsWith('xray:'))).toBe(true);
        }
      }
    }
  });

  it('grants each function only what its declaration names', () => {
    const actionsOf = (fnName: string) =>
      statementsOfRole(fixture.template, `Runs the ${fnName} function`).map((s) => ({
        actions: [s.Action].flat(),
        resource: s.Resource,
      }));
    const putEvents = actionsOf('echo-http').find((s) => s.actions.includes('events:PutEvents'));
    expect(putEvents?.resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Bus/), 'Arn'] });
    const readSecret = actionsOf('read-secret').find((s) =>
      s.actions.includes('secretsmanager:GetSecretValue'),
    );
    expect(readSecret?.resource).toEqual({ Ref: expect.stringMatching(/^SalescalingApiKey/) });
    const broken = actionsOf('broken-config').flatMap((s) => s.actions);
    expect(broken.some((a: string) => a.startsWith('events:') || a.startsWith('secretsmanager:'))).toBe(
      false,
    );
  });
});

describe('cdk-nag', () => {
  it.each([
    ['real catalog', real],
    ['fixture catalog (every trigger kind)', fixture],
  ])('finds nothing unacknowledged in the %s', (_, { app }) => {
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
      const report = pack.validateScope(app);
      const findings = report.violations.map(
        (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(', ')}`,
      );
      expect(findings).toEqual([]);
    }
  });
});

describe('stage configuration', () => {
  it('names a missing stage', () => {
    expect(() => loadStageConfig(undefined, cdkContext.stages)).toThrow(
      /Missing setting "stage".*-c stage=dev/,
    );
  });

  it('names an unknown stage', () => {
    expect(() => loadStageConfig('qa', cdkContext.stages)).toThrow(/"qa" is not one of dev, prod/);
  });

  it('names every wrong setting', () => {
    const broken = {
      dev: {
        ...(cdkContext.stages.dev as object),
        region: 'Europe',
        logRetentionDays: 10,
        salescaling: { baseUrl: 'http://plain' },
      },
    };
    expect(() => loadStageConfig('dev', broken)).toThrow(
      /stages\.dev\.region: must be an AWS region[\s\S]*stages\.dev\.logRetentionDays[\s\S]*stages\.dev\.salescaling\.baseUrl: must be an https URL/,
    );
  });
});

describe('lead capture', () => {
  const policyStatementsOf = (description: string) => statementsOfRole(real.template, description);

  it('routes POST /leads and POST /leads/{provider} with their own throttling', () => {
    const keys = resources(real.template, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey);
    expect(keys).toEqual(expect.arrayContaining(['POST /leads', 'POST /leads/{provider}']));
    real.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      RouteSettings: {
        'POST /leads': { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
        'POST /leads/{provider}': { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      },
      DefaultRouteSettings: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
    });
  });

  it('allows CORS only from the configured origins', () => {
    real.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({
        AllowOrigins: ['http://localhost:3000'],
        AllowMethods: ['GET', 'POST'],
      }),
    });
  });

  it('may publish only to the bus and read only its signing secrets', () => {
    const statements = policyStatementsOf('Runs the lead-ingest function').filter(
      (s) => ![s.Action].flat().every((a) => a.startsWith('xray:') || a.startsWith('logs:')),
    );
    expect(statements).toEqual([
      {
        Action: 'events:PutEvents',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Bus/), 'Arn'] },
        Condition: {
          StringEquals: {
            'events:source': 'salescaling.automation',
            'events:detail-type': ['Lead Received'],
          },
        },
      },
      {
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Effect: 'Allow',
        Resource: { Ref: expect.stringMatching(/^WebhookSigningSecrets/) },
      },
    ]);
  });

  it('gets its settings from the stage: thank-you URL, origins, field mapping', () => {
    const [, fn] = resources(real.template, 'AWS::Lambda::Function').find(([, f]) =>
      String(f.Properties.Description).startsWith('Verifies, validates and accepts leads'),
    ) as [string, Resource];
    expect(fn.Properties.Environment.Variables).toMatchObject({
      THANK_YOU_URL: 'http://localhost:3000/demo/thanks',
      ALLOWED_ORIGINS: '["http://localhost:3000"]',
      LEAD_FIELD_MAPPING: '{}',
      HONEYPOT_FIELD: 'contact_me_by_fax_only',
      WEBHOOK_SIGNING_SECRETS_ID: { Ref: expect.stringMatching(/^WebhookSigningSecrets/) },
    });
  });

  it('creates the signing secrets as an empty JSON object', () => {
    real.template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'salescaling-automation/dev/webhook-signing-secrets',
      SecretString: '{}',
    });
  });
});

describe('lead sync', () => {
  const statementsOf = (description: string) => statementsOfRole(real.template, description);

  it('consumes Lead Received from its queue with bounded concurrency and a share of the budget', () => {
    real.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['salescaling.automation'], 'detail-type': ['Lead Received'] },
    });
    real.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 5,
      ScalingConfig: { MaximumConcurrency: 2 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const [, fn] = resources(real.template, 'AWS::Lambda::Function').find(([, f]) =>
      String(f.Properties.Description).startsWith('Turns each Lead Received'),
    ) as [string, Resource];
    // A budget of 5 requests per second, shared by every invocation that may call Salescaling at once:
    // lead-sync 2, integration-commands 2, stale-deals 2 (continuations) + 1 (schedule) = 7.
    expect(fn.Properties.Environment.Variables).toMatchObject({
      SALESCALING_MAX_RPS: '0.71',
      IDEMPOTENCY_TABLE_NAME: { Ref: expect.stringMatching(/^IdempotencyTable/) },
      DEAD_LETTER_QUEUE_URL: { Ref: expect.stringMatching(/^LeadSyncLeadReceivedDlq/) },
      SALESCALING_API_KEY_SECRET_ID: { Ref: expect.stringMatching(/^SalescalingApiKey/) },
    });
  });

  it('keeps idempotency records in an on-demand table with a TTL and point-in-time recovery', () => {
    real.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('may do exactly what it needs: four item actions on its table, send to its own DLQ, read the key, publish', () => {
    const statements = statementsOf('Runs the lead-sync function').filter(
      (s) => ![s.Action].flat().every((a) => a.startsWith('xray:') || a.startsWith('logs:')),
    );
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^IdempotencyTable/), 'Arn'] },
        }),
        expect.objectContaining({
          Action: expect.arrayContaining(['sqs:SendMessage']),
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^LeadSyncLeadReceivedDlq/), 'Arn'] },
        }),
        expect.objectContaining({ Action: 'events:PutEvents' }),
        expect.objectContaining({
          Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        }),
      ]),
    );
    const actions = statements.flatMap((s) => [s.Action].flat());
    // And the shared Salescaling budget's item: read and conditionally update.
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^BudgetTable/), 'Arn'] },
        }),
      ]),
    );
    expect(actions.filter((a) => a.startsWith('dynamodb:'))).toHaveLength(6);
  });
});

describe('stale-deal closing', () => {
  it('runs daily at 06:00 Madrid time, with a retry policy and a dead-letter queue', () => {
    real.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 6 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Madrid',
      State: 'ENABLED',
      Target: Match.objectLike({
        Input: '{}',
        RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 185 },
        DeadLetterConfig: {
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^StaleDealsSchedulesDlq'), 'Arn'] },
        },
      }),
    });
    real.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: {
        OnFailure: {
          Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^StaleDealsSchedulesDlq'), 'Arn'] },
        },
      },
    });
  });

  it('resumes from its own continuation events, one at a time through a queue', () => {
    real.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['salescaling.automation'], 'detail-type': ['Stale Sweep Continued'] },
    });
    real.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 1,
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('is a dry run on dev and real on prod, from the stage settings', () => {
    const configOf = (template: typeof real.template) => {
      const [, fn] = resources(template, 'AWS::Lambda::Function').find(([, f]) =>
        String(f.Properties.Description).startsWith('Closes open opportunities'),
      ) as [string, Resource];
      return JSON.parse(fn.Properties.Environment.Variables.STALE_DEALS_CONFIG);
    };
    expect(configOf(real.template)).toMatchObject({ dryRun: true, staleAfterDays: 30 });
    const prod = synthStack(catalog, prodReady(), 'prod');
    expect(configOf(prod.template)).toMatchObject({ dryRun: false, maxClosesPerRun: 50 });
  });

  it('lets a stage move the schedule and its time zone', () => {
    const { template } = synthStack(catalog, {
      schedules: { 'stale-deals': { cron: '30 7 ? * MON-FRI *', timeZone: 'America/New_York' } },
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(30 7 ? * MON-FRI *)',
      ScheduleExpressionTimezone: 'America/New_York',
    });
  });
});

describe('event schema registry', () => {
  it('holds a JSON Schema for every event of the catalog', async () => {
    const { allEvents } = await import('#shared/events/catalog.ts');
    real.template.hasResourceProperties('AWS::EventSchemas::Registry', {
      RegistryName: 'salescaling-automation-dev',
    });
    const schemas = resources(real.template, 'AWS::EventSchemas::Schema');
    expect(schemas).toHaveLength(allEvents.length);
    const close = schemas.find(
      ([, s]) => s.Properties.SchemaName === 'salescaling.automation@CloseOpportunity',
    )?.[1];
    expect(close?.Properties.Type).toBe('JSONSchemaDraft4');
    expect(JSON.parse(close?.Properties.Content)).toMatchObject({
      properties: { outcome: { enum: ['won', 'lost'] } },
      required: expect.arrayContaining(['opportunityId', 'outcome', 'reason']),
    });
  });
});

describe('inbound commands', () => {
  it('routes every command from any source but ours, and each worked example through its input transformer', () => {
    real.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: [{ 'anything-but': 'salescaling.automation' }],
        'detail-type': [
          'Upsert Opportunity',
          'Link Contact',
          'Unlink Contact',
          'Link Company',
          'Unlink Company',
          'Close Opportunity',
          'Delete Opportunity',
        ],
      },
    });
    real.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        source: ['billing.example'],
        'detail-type': ['payment_intent.succeeded'],
      }),
      Targets: [
        Match.objectLike({
          InputTransformer: {
            InputPathsMap: Match.objectLike({
              id: '$.id',
              'detail-data-object-id': '$.detail.data.object.id',
            }),
            InputTemplate: Match.stringLikeRegexp(
              '"detail-type":"Close Opportunity".*"reason":"Payment <detail-data-object-id> succeeded"',
            ),
          },
        }),
      ],
    });
  });
});

describe('operations', () => {
  const alarms = () => resources(real.template, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);

  it('alarms on every dead-letter queue at its first message', () => {
    const dlqIds = resources(real.template, 'AWS::SQS::Queue')
      .map(([id]) => id)
      .filter((id) => /Dlq[0-9A-F]{8}$/.test(id));
    expect(dlqIds.length).toBeGreaterThan(3);
    for (const dlq of dlqIds) {
      expect(alarms()).toContainEqual(
        expect.objectContaining({
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
          Threshold: 1,
          AlarmActions: [{ Ref: expect.stringMatching(/^Alarms/) }],
        }),
      );
    }
  });

  it("alarms on every function's errors and throttles, the API's 5xx and latency, and sustained 429s", () => {
    const functionIds = resources(real.template, 'AWS::Lambda::Function').map(([id]) => id);
    for (const id of functionIds) {
      for (const metric of ['Errors', 'Throttles']) {
        expect(alarms()).toContainEqual(
          expect.objectContaining({
            MetricName: metric,
            Dimensions: [{ Name: 'FunctionName', Value: { Ref: id } }],
          }),
        );
      }
    }
    expect(alarms()).toContainEqual(
      expect.objectContaining({ MetricName: '5xx', Namespace: 'AWS/ApiGateway', Threshold: 5 }),
    );
    expect(alarms()).toContainEqual(
      expect.objectContaining({ MetricName: 'Latency', ExtendedStatistic: 'p99', Threshold: 3000 }),
    );
    expect(alarms()).toContainEqual(
      expect.objectContaining({
        MetricName: 'SalescalingRateLimited',
        Namespace: 'SalescalingAutomation',
        EvaluationPeriods: 3,
      }),
    );
    for (const alarm of alarms())
      expect(alarm.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^Alarms/) }]);
  });

  it('sends alarms to an encrypted, TLS-only topic with the configured subscribers', () => {
    real.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    real.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    const { template } = synthStack(catalog, {
      alarms: { ...loadStageConfig('dev', cdkContext.stages).config.alarms, emails: ['oncall@example.com'] },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
  });

  it("has a dashboard of the product's figures", () => {
    const [[, dashboard]] = resources(real.template, 'AWS::CloudWatch::Dashboard') as [[string, Resource]];
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const name of [
      'LeadsAccepted',
      'OpportunitiesCreated',
      'StaleDealsClosed',
      'SalescalingCalls',
      'SalescalingRateLimited',
      'ApproximateNumberOfMessagesVisible',
    ]) {
      expect(body).toContain(name);
    }
  });
});

describe('least privilege, role by role', () => {
  /** Each role's grants as "actions → resource", the resource by its logical id without the hash. */
  const grants = () => {
    const all = real.template.toJSON().Resources as Record<string, Resource>;
    const name = (resource: unknown): string => {
      if (resource === '*') return '*';
      if (Array.isArray(resource)) return resource.map(name).join(' + ');
      const json = JSON.stringify(resource);
      const id = /"(?:Ref|Fn::GetAtt)":\[?"([A-Za-z0-9]+?)[0-9A-F]{8}"/.exec(json)?.[1] ?? json;
      return json.includes(':*') ? `${id}:*` : id;
    };
    const out: Record<string, string[]> = {};
    for (const [, role] of Object.entries(all).filter(([, r]) => r.Type === 'AWS::IAM::Role')) {
      out[role.Properties.Description] = statementsOfRole(real.template, role.Properties.Description)
        .map((s) => `${[s.Action].flat().join(', ')} → ${name(s.Resource)}`)
        .sort();
    }
    return out;
  };
  const common = (fn: string) => [
    `logs:CreateLogStream, logs:PutLogEvents → ${fn}Logs`,
    'xray:PutTraceSegments, xray:PutTelemetryRecords → *',
  ];
  const consume = (queue: string) =>
    `sqs:ReceiveMessage, sqs:ChangeMessageVisibility, sqs:GetQueueUrl, sqs:DeleteMessage, sqs:GetQueueAttributes → ${queue}`;
  const readKey = 'secretsmanager:GetSecretValue, secretsmanager:DescribeSecret → SalescalingApiKey';
  const idempotency =
    'dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:DeleteItem → IdempotencyTable';
  const budget = 'dynamodb:GetItem, dynamodb:UpdateItem → BudgetTable';
  const send = (dlq: string) => `sqs:SendMessage, sqs:GetQueueAttributes, sqs:GetQueueUrl → ${dlq}`;

  it('grants each role only the actions it needs, each on its one resource', () => {
    expect(grants()).toEqual({
      'Runs the api-health function': [...common('ApiHealth')].sort(),
      'Runs the lead-ingest function': [
        ...common('LeadIngest'),
        'events:PutEvents → Bus',
        'secretsmanager:GetSecretValue, secretsmanager:DescribeSecret → WebhookSigningSecrets',
      ].sort(),
      'Runs the lead-sync function': [
        ...common('LeadSync'),
        consume('LeadSyncLeadReceivedQueue'),
        readKey,
        budget,
        'events:PutEvents → Bus',
        idempotency,
        send('LeadSyncLeadReceivedDlq'),
      ].sort(),
      'Runs the stale-deals function': [
        ...common('StaleDeals'),
        consume('StaleDealsStaleSweepContinuedQueue'),
        send('StaleDealsSchedulesDlq'),
        readKey,
        budget,
        'events:PutEvents → Bus',
        'dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem → SweepRunsTable',
      ].sort(),
      'Lets EventBridge Scheduler run stale-deals': [
        'lambda:InvokeFunction → StaleDeals + StaleDeals:*',
        'sqs:SendMessage → StaleDealsSchedulesDlq',
      ].sort(),
      'Runs the integration-commands function': [
        ...common('IntegrationCommands'),
        consume('IntegrationCommandsCommandsQueue'),
        readKey,
        budget,
        'events:PutEvents → Bus',
        idempotency,
        send('IntegrationCommandsCommandsDlq'),
      ].sort(),
    });
  });

  it("encrypts every queue (SSE-SQS); the table keeps DynamoDB's default encryption at rest (AWS owned key)", () => {
    for (const [, queue] of resources(real.template, 'AWS::SQS::Queue'))
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    real.template.hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: Match.absent() });
  });
});

describe("the bus's trust boundary: only the project's functions speak as the project", () => {
  type PutEventsStatement = {
    Effect: string;
    Action: string;
    Principal?: { AWS: unknown };
    Resource: unknown;
    Condition?: Record<string, Record<string, unknown>>;
    Sid?: string;
  };
  const busPolicyOf = (template: typeof real.template): PutEventsStatement[] => {
    const [[, bus]] = resources(template, 'AWS::Events::EventBus') as [[string, Resource]];
    return bus.Properties.Policy.Statement;
  };
  const roleIdOf = (fnName: string) =>
    resources(real.template, 'AWS::IAM::Role').find(
      ([, r]) => r.Properties.Description === `Runs the ${fnName} function`,
    )?.[0];
  const publishers = catalog.filter((d) => d.access.includes('eventBus')).map((d) => d.name);

  it('grants each publishing function PutEvents only for the project source and the detail types it publishes', () => {
    expect(publishers.sort()).toEqual(['integration-commands', 'lead-ingest', 'lead-sync', 'stale-deals']);
    for (const name of publishers) {
      const grants = statementsOfRole(real.template, `Runs the ${name} function`).filter((s) =>
        [s.Action].flat().includes('events:PutEvents'),
      ) as unknown as PutEventsStatement[];
      expect(grants, name).toHaveLength(1);
      const expected = allEvents
        .filter((e) => e.direction === 'outbound' && e.by.split(', ').includes(name))
        .map((e) => e.detailType);
      expect(expected.length, name).toBeGreaterThan(0);
      expect(grants[0]?.Condition, name).toEqual({
        StringEquals: { 'events:source': EVENT_SOURCE, 'events:detail-type': expected },
      });
    }
    // The detail types the code publishes, grepped once by hand: the catalog's `by` must match them.
    expect(publishedDetailTypes('lead-ingest')).toEqual(['Lead Received']);
    expect(publishedDetailTypes('stale-deals').sort()).toEqual([
      'Opportunity Closed As Stale',
      'Stale Sweep Completed',
      'Stale Sweep Continued',
    ]);
    expect(publishedDetailTypes('api-health')).toEqual([]);
  });

  it("denies the project's source, on the bus itself, to every principal but the publishing roles", () => {
    const policy = busPolicyOf(real.template);
    const deny = policy.filter((s) => s.Effect === 'Deny');
    expect(deny).toHaveLength(1);
    expect(deny[0]).toMatchObject({
      Action: 'events:PutEvents',
      Principal: { AWS: '*' },
      Condition: { StringLike: { 'events:source': `${EVENT_SOURCE}*` } },
    });
    const arns = (deny[0]?.Condition?.ArnNotEquals?.['aws:PrincipalArn'] ?? []) as Array<{
      'Fn::GetAtt': string[];
    }>;
    const exempt = arns.map((ref) => ref['Fn::GetAtt'][0]);
    expect(exempt.sort()).toEqual(publishers.map(roleIdOf).sort());
    expect(exempt).not.toContain(roleIdOf('api-health'));
    // No integration configured: nothing is allowed beyond the account's own IAM.
    expect(policy.filter((s) => s.Effect === 'Allow')).toEqual([]);
    real.template.resourceCountIs('AWS::Events::EventBusPolicy', 0);
  });

  it('allows a configured integration its own sources, for its principals and accounts only', () => {
    const { template } = synthStack(catalog, {
      integrations: [
        {
          name: 'billing',
          principals: ['arn:aws:iam::111122223333:role/billing-publisher'],
          accounts: ['444455556666'],
          sources: ['billing.example', 'invoices.example'],
        },
      ],
    });
    const allow = busPolicyOf(template).filter((s) => s.Effect === 'Allow');
    expect(allow).toEqual([
      {
        Sid: 'IntegrationBilling',
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Principal: {
          AWS: [
            'arn:aws:iam::111122223333:role/billing-publisher',
            { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::444455556666:root']] },
          ],
        },
        Resource: expect.anything(),
        Condition: {
          StringEquals: {
            'events:source': ['billing.example', 'invoices.example'],
            // No detailTypes: every inbound command but Delete Opportunity, and the upstream event of the worked example
            // that turns billing.example into one (payment_intent.succeeded → Close Opportunity).
            'events:detail-type': [...defaultTypes, 'payment_intent.succeeded'],
          },
        },
      },
    ]);
    // The Deny still holds for everyone else, integrations included.
    expect(busPolicyOf(template).filter((s) => s.Effect === 'Deny')).toHaveLength(1);
  });

  const commandTypes = allEvents.filter((e) => e.direction === 'inbound').map((e) => e.detailType);
  /** What an integration without detailTypes gets: every command but the destructive Delete Opportunity. */
  const defaultTypes = commandTypes.filter((type) => type !== 'Delete Opportunity');
  /** One synth with several integrations; each one's Allow by its Sid. */
  const allowOf = (() => {
    const integrations = [
      { name: 'billing-close', sources: ['billing.example'], detailTypes: ['Close Opportunity'] },
      { name: 'billing-upsert', sources: ['billing.example'], detailTypes: ['Upsert Opportunity'] },
      { name: 'crm', sources: ['crm.example'] },
      { name: 'dedupe', sources: ['dedupe.example'], detailTypes: ['Delete Opportunity'] },
    ];
    const { template } = synthStack(catalog, {
      integrations: integrations.map((i) => ({ principals: [], accounts: ['444455556666'], ...i })),
    });
    const policy = busPolicyOf(template);
    return (name: string) => policy.filter((s) => s.Effect === 'Allow' && s.Sid === `Integration${name}`);
  })();

  it('limits an integration to the commands its detailTypes name, with only the adapters into them', () => {
    expect(commandTypes).toEqual(
      expect.arrayContaining(['Upsert Opportunity', 'Close Opportunity', 'Link Contact']),
    );
    const closeOnly = allowOf('BillingClose');
    expect(closeOnly).toHaveLength(1);
    expect(closeOnly[0]?.Condition).toEqual({
      StringEquals: {
        'events:source': ['billing.example'],
        'events:detail-type': ['Close Opportunity', 'payment_intent.succeeded'],
      },
    });
    // The billing adapter yields Close Opportunity: an integration not granted it does not get its upstream type.
    expect(allowOf('BillingUpsert')[0]?.Condition).toEqual({
      StringEquals: { 'events:source': ['billing.example'], 'events:detail-type': ['Upsert Opportunity'] },
    });
    // Nor does an integration with another source: the adapter listens to billing.example only.
    expect(allowOf('Crm')[0]?.Condition?.StringEquals?.['events:detail-type']).toEqual(defaultTypes);
  });

  it('grants Delete Opportunity only to an integration that names it', () => {
    expect(defaultTypes).toHaveLength(commandTypes.length - 1);
    expect(allowOf('Crm')[0]?.Condition?.StringEquals?.['events:detail-type']).not.toContain(
      'Delete Opportunity',
    );
    expect(allowOf('Dedupe')[0]?.Condition).toEqual({
      StringEquals: { 'events:source': ['dedupe.example'], 'events:detail-type': ['Delete Opportunity'] },
    });
  });

  it('refuses a detail type that is not an inbound command, naming its path', () => {
    const stages = (detailTypes: unknown) => ({
      dev: {
        ...(cdkContext.stages.dev as object),
        integrations: [{ name: 'crm', accounts: ['444455556666'], sources: ['crm.example'], detailTypes }],
      },
    });
    for (const [detailTypes, message] of [
      [
        ['Close Opportunity', 'Lead Received'],
        /integrations\.0\.detailTypes\.1: must be an inbound command of the event catalog: Upsert Opportunity/,
      ],
      [
        ['Close Opportunity', 'Opportunity Created'],
        /integrations\.0\.detailTypes\.1: must be an inbound command/,
      ],
      [['payment_intent.succeeded'], /integrations\.0\.detailTypes\.0: must be an inbound command/],
      [[], /integrations\.0\.detailTypes: Too small/],
      [
        ['Close Opportunity', 'Close Opportunity'],
        /integrations\.0\.detailTypes: must not repeat a detail type/,
      ],
    ] as const) {
      expect(() => loadStageConfig('dev', stages(detailTypes)), JSON.stringify(detailTypes)).toThrow(message);
    }
    expect(loadStageConfig('dev', stages(['Close Opportunity'])).config.integrations[0]?.detailTypes).toEqual(
      ['Close Opportunity'],
    );
  });

  it.each([
    ['salescaling.automation', 'integrations.0.sources.1'],
    ['salescaling.automation.billing', 'integrations.0.sources.1'],
  ])('refuses an integration using the project source %s, naming %s', (source, path) => {
    const stages = {
      dev: {
        ...(cdkContext.stages.dev as object),
        integrations: [{ name: 'crm', accounts: ['444455556666'], sources: ['crm.example', source] }],
      },
    };
    expect(() => loadStageConfig('dev', stages)).toThrow(
      new RegExp(`stages\\.dev\\.${path.replaceAll('.', '\\.')}: must not be the project's own source`),
    );
  });

  it('refuses an integration with no principal or account, and a malformed one, naming the path', () => {
    const stages = {
      dev: {
        ...(cdkContext.stages.dev as object),
        integrations: [
          { name: 'crm', sources: ['crm.example'] },
          { name: 'erp', principals: ['arn:aws:iam::1:root'], sources: [] },
        ],
      },
    };
    expect(() => loadStageConfig('dev', stages)).toThrow(
      /stages\.dev\.integrations\.0\.principals: needs at least one principal or account[\s\S]*stages\.dev\.integrations\.1\.principals\.0: must be an IAM role or user ARN[\s\S]*stages\.dev\.integrations\.1\.sources/,
    );
  });

  it('fails synth for a function with access to the bus that the event catalog names as publisher of nothing', () => {
    const declarations = catalog.map((d) =>
      d.name === 'api-health' ? { ...d, access: [...d.access, 'eventBus' as const] } : d,
    );
    expect(() => synthStack(declarations)).toThrow(
      /functions\.api-health: has access 'eventBus' but the event catalog names it as the publisher/,
    );
  });
});
