import {
  ArnFormat,
  CfnOutput,
  Duration,
  RemovalPolicy,
  SecretValue,
  Stack,
  type StackProps,
  TimeZone,
  Validations,
} from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage,
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import {
  Alarm,
  type AlarmProps,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import {
  type CfnArchive,
  type CfnEventBus,
  EventBus,
  EventField,
  type EventPattern,
  Rule,
  RuleTargetInput,
} from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { CfnRegistry, CfnSchema } from 'aws-cdk-lib/aws-eventschemas';
import {
  AccountPrincipal,
  AnyPrincipal,
  ArnPrincipal,
  Effect,
  type IRole,
  PolicyDocument,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { type CfnSecret, type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  type Adapter,
  type EventTrigger,
  type FunctionDeclaration,
  type ResourceName,
  resourceBindings,
  routeKey,
  type ScheduleTrigger,
  type SettingName,
  scheduleExpression,
} from '#functions/declaration.ts';
import { functionEnvironment, SERVICE_NAME, salescalingConcurrency } from '#functions/environment.ts';
import { maxReceiveCountOf } from '#functions/queue-retries.ts';
import {
  assertSettingsFit,
  QUEUE_RETENTION_SECONDS,
  queueVisibilityTimeoutSeconds,
} from '#functions/settings-fit.ts';
import { allEvents, EVENT_SOURCE, type EventDefinition } from '#shared/events/catalog.ts';
import { jsonSchemaOf, registrySchemaName } from '#shared/events/documentation.ts';
import { publishedDetailTypes } from '#shared/events/publishers.ts';
import {
  daysToSeconds,
  defaultIdempotencyExpiryDays,
  idempotencyExpiryProblem,
} from '#shared/idempotency/expiry.ts';
import { METRICS_NAMESPACE } from '#shared/observability/metrics.ts';
import type { RetrySchedule } from '#shared/queues/retry.ts';
import { DEFAULT_COMMAND_DETAIL_TYPES, retryScheduleOf, type Stage, type StageConfig } from './config.ts';
import { HouseFunction } from './constructs/house-function.ts';
import { alarmTopicProblems, productionProblems } from './production-readiness.ts';

export interface SalescalingStackProps extends StackProps {
  stage: Stage;
  config: StageConfig;
  declarations: readonly FunctionDeclaration[];
  projectRoot: string;
  /** The event catalog whose outbound entries (`by`) say what each function may publish; default: the product's. */
  events?: readonly EventDefinition[] | undefined;
}

/**
 * Everything the product runs on, built from the function catalog: the event bus (with an
 * archive), the HTTP API, the Salescaling API key secret, and for each function its triggers —
 * routes, rules feeding SQS queues with dead-letter queues, and schedules with retries and a
 * dead-letter queue. Each function is granted exactly the resources its declaration names.
 */
export class SalescalingStack extends Stack {
  readonly bus: EventBus;
  readonly api: HttpApi;
  readonly apiStage: HttpStage;
  readonly apiKeySecret: ISecret;
  readonly signingSecrets: Secret;
  readonly idempotencyTable: Table;
  readonly sweepRunsTable: Table;
  readonly budgetTable: Table;
  readonly functions = new Map<string, HouseFunction>();
  readonly alarmTopic: Topic;
  readonly deadLetterQueues: Queue[] = [];
  /** The queues feeding functions (rule targets), alarmed on their oldest message's age. */
  readonly functionQueues: Queue[] = [];
  /** Per function, the schedule triggers as deployed (stage overrides applied). */
  readonly #deployedSchedules = new Map<HouseFunction, ScheduleTrigger[]>();
  readonly #scheduleOverrides: StageConfig['schedules'];
  /** The roles the stage names as able to redrive (`operators.redriveRoleArns`). */
  readonly #redriveRoles: readonly string[];
  /** The roles of the functions that publish as the project: the only principals the bus lets speak as it. */
  readonly #publisherRoles: IRole[] = [];
  /** Per table, the roles of the functions whose `access` names it: the only principals its policy lets touch items. */
  readonly #tableUsers = new Map<Table, IRole[]>();
  /** Every upstream event the stack's rules turn into a command (the event triggers' adapters). */
  readonly #adapters: Adapter[] = [];

  readonly #removalPolicy: RemovalPolicy;
  /** The stage's outage retry schedule: the queues' maxReceiveCount and the functions' backoff. */
  readonly #retrySchedule: RetrySchedule;

  constructor(scope: Construct, id: string, props: SalescalingStackProps) {
    super(scope, id, {
      ...props,
      terminationProtection:
        props.terminationProtection ?? props.config.terminationProtection ?? props.stage === 'prod',
    });
    const { stage, config } = props;
    if (stage === 'prod') {
      const problems = productionProblems(stage, config, props.declarations);
      if (problems.length > 0) {
        throw new Error(
          `Stage "${stage}" is not ready for production (see docs/deploy.md, "Before you deploy to production"):\n  ${problems.join('\n  ')}`,
        );
      }
    }
    // Idempotency records that expire before the archive would let a replay apply an event again.
    const idempotencyExpiryDays =
      config.idempotencyExpiryDays ?? defaultIdempotencyExpiryDays(config.eventArchiveRetentionDays);
    const expiryProblem = idempotencyExpiryProblem(idempotencyExpiryDays, config.eventArchiveRetentionDays);
    if (expiryProblem) throw new Error(`Stage "${stage}": ${expiryProblem}`);
    // Batches that cannot finish inside the timeout, or queues that redeliver mid-batch, are not deployed.
    const retrySchedule = retryScheduleOf(config);
    this.#retrySchedule = retrySchedule;
    assertSettingsFit(props.declarations, {
      maxRequestsPerSecond: config.salescaling.maxRequestsPerSecond,
      retrySchedule,
      retentionSeconds: QUEUE_RETENTION_SECONDS,
    });
    this.#scheduleOverrides = config.schedules;
    this.#redriveRoles = config.operators.redriveRoleArns;
    const removalPolicy = config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.#removalPolicy = removalPolicy;
    const logRetention = config.logRetentionDays as RetentionDays;

    this.bus = new EventBus(this, 'Bus', { eventBusName: `salescaling-automation-${stage}` });
    const archive = this.bus.archive('Archive', {
      archiveName: `salescaling-automation-${stage}`,
      description: 'Every event on the bus, for replay',
      eventPattern: { account: [this.account] },
      retention: Duration.days(config.eventArchiveRetentionDays),
    });
    // aws-cdk renders `KmsKeyIdentifier: ""` for an archive without a key (aws/aws-cdk#37847), which
    // some regions reject; without the property the archive uses the AWS-owned key, as intended.
    (archive.node.defaultChild as CfnArchive).addPropertyDeletionOverride('KmsKeyIdentifier');
    // The bus is kept with its archive: a replay can only go to the bus the archive was made on.
    this.bus.applyRemovalPolicy(removalPolicy);
    archive.applyRemovalPolicy(removalPolicy);

    // The event catalog's JSON Schemas, for producers and consumers to discover and generate code from.
    const registry = new CfnRegistry(this, 'EventSchemas', {
      registryName: `salescaling-automation-${stage}`,
      description: 'Every event on the Salescaling automation bus, generated from the event catalog',
    });
    for (const event of allEvents) {
      new CfnSchema(this, `${pascal(event.detailType)}Schema`, {
        registryName: registry.attrRegistryName,
        schemaName: registrySchemaName(event),
        type: 'JSONSchemaDraft4',
        description:
          `${event.direction === 'inbound' ? 'Command' : 'Event'} v${event.version}: ${event.description}`.slice(
            0,
            256,
          ),
        content: JSON.stringify(jsonSchemaOf(event)),
      });
    }

    this.apiKeySecret = config.salescaling.existingApiKeySecretName
      ? Secret.fromSecretNameV2(this, 'SalescalingApiKey', config.salescaling.existingApiKeySecretName)
      : this.#emptySecret(stage, removalPolicy);

    this.signingSecrets = new Secret(this, 'WebhookSigningSecrets', {
      secretName: `salescaling-automation/${stage}/webhook-signing-secrets`,
      description:
        'Webhook signing secrets, JSON: {"typeform": [...], "webflow": [...], "tally": [...], "standard-webhooks": ["whsec_..."]}. Several per provider during a rotation.',
      // An empty JSON object, so unsigned routes work before any provider is set up.
      secretStringValue: SecretValue.unsafePlainText('{}'),
      removalPolicy,
    });
    Validations.of(this.signingSecrets).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Signing secrets are issued by each form provider and rotated there; put the new one beside the old (both are accepted), then remove the old.',
    });

    [this.api, this.apiStage] = this.#httpApi(stage, config, logRetention, removalPolicy);

    const idempotency = resourceBindings.idempotencyTable.dynamoDbTable;
    this.idempotencyTable = new Table(this, 'IdempotencyTable', {
      partitionKey: { name: idempotency.partitionKey, type: AttributeType.STRING },
      timeToLiveAttribute: idempotency.timeToLiveAttribute,
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy,
    });
    this.sweepRunsTable = this.#sweepRunsTable(removalPolicy);
    this.budgetTable = this.#budgetTable(removalPolicy);
    const resources: Omit<Record<ResourceName, string>, 'deadLetterQueue'> = {
      salescalingApiKey: this.apiKeySecret.secretArn,
      eventBus: this.bus.eventBusName,
      webhookSigningSecrets: this.signingSecrets.secretArn,
      idempotencyTable: this.idempotencyTable.tableName,
      sweepRunsTable: this.sweepRunsTable.tableName,
      budgetTable: this.budgetTable.tableName,
    };
    const settings: Record<SettingName, string> = {
      allowedOrigins: JSON.stringify(config.api.allowedOrigins),
      thankYouUrl: config.leads.thankYouUrl,
      leadFieldMapping: JSON.stringify(config.leads.fieldMapping),
      staleDealsConfig: JSON.stringify({
        ...config.staleDeals,
        dryRun: config.staleDeals.dryRun ?? stage !== 'prod',
      }),
      opportunityStatuses: JSON.stringify(config.salescaling.opportunityStatuses),
      commandsConfig: JSON.stringify(config.commands),
    };
    const routeThrottles: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};

    for (const declaration of props.declarations) {
      const id = pascal(declaration.name);
      const fn = new HouseFunction(this, id, {
        declaration,
        projectRoot: props.projectRoot,
        logRetention,
        removalPolicy,
        logLevel: config.logLevel,
      });
      this.functions.set(declaration.name, fn);
      const schedules: ScheduleTrigger[] = [];
      let triggerDlq: Queue | undefined;
      let triggerQueue: Queue | undefined;
      for (const trigger of declaration.triggers) {
        if (trigger.kind === 'http') {
          const routes = this.api.addRoutes({
            path: trigger.path,
            methods: [HttpMethod[trigger.method]],
            integration: new HttpLambdaIntegration(
              `${id}${pascal(trigger.method)}${pascal(trigger.path) || 'Root'}`,
              fn,
            ),
          });
          for (const route of routes) {
            Validations.of(route).acknowledge({ id: 'AwsSolutions-APIG4', reason: trigger.publicBecause });
          }
          if (trigger.throttle) {
            routeThrottles[routeKey(trigger)] = {
              ThrottlingRateLimit: trigger.throttle.rateLimit,
              ThrottlingBurstLimit: trigger.throttle.burstLimit,
            };
          }
        } else if (trigger.kind === 'event') {
          [triggerQueue, triggerDlq] = this.#eventTrigger(fn, id, trigger);
          this.#adapters.push(...trigger.adapters);
        } else {
          schedules.push(trigger);
        }
      }
      if (schedules.length > 0) this.#scheduleTriggers(fn, id, schedules);
      const environment = functionEnvironment(
        declaration,
        {
          stage,
          salescalingInvocations: salescalingConcurrency(props.declarations),
          logLevel: config.logLevel,
          salescalingBaseUrl: config.salescaling.baseUrl,
          salescalingMaxRps: config.salescaling.maxRequestsPerSecond,
          salescalingMaxConcurrency: config.salescaling.maxConcurrency,
          idempotencyExpirySeconds: daysToSeconds(idempotencyExpiryDays),
          retrySchedule,
        },
        { ...resources, deadLetterQueue: triggerDlq?.queueUrl ?? '' },
        settings,
        triggerQueue?.queueUrl ?? '',
      );
      for (const [key, value] of Object.entries(environment)) fn.addEnvironment(key, value);
      // Each access pairs with its variable (set just above) and the narrowest grant.
      for (const resource of declaration.access) {
        if (resource === 'salescalingApiKey') this.apiKeySecret.grantRead(fn);
        if (resource === 'eventBus') this.#grantPublish(fn, props.events ?? allEvents);
        if (resource === 'webhookSigningSecrets') this.signingSecrets.grantRead(fn);
        if (resource === 'idempotencyTable') this.#grantIdempotency(fn);
        if (resource === 'sweepRunsTable') this.#grantSweepRuns(fn);
        if (resource === 'budgetTable') this.#grantTable(this.budgetTable, 'budgetTable', fn);
        if (resource === 'deadLetterQueue') triggerDlq?.grantSendMessages(fn);
      }

      Validations.of(fn).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason: failureDestinations(declaration),
      });
    }

    this.#busPolicy(stage, config);
    this.#tablePolicy(this.idempotencyTable);
    this.#tablePolicy(this.sweepRunsTable);
    this.#tablePolicy(this.budgetTable);

    if (Object.keys(routeThrottles).length > 0) {
      (this.apiStage.node.defaultChild as CfnStage).addPropertyOverride('RouteSettings', routeThrottles);
    }

    for (const dlq of this.deadLetterQueues) {
      new CfnOutput(this, `${dlq.node.id}Name`, {
        value: dlq.queueName,
        description: `Dead-letter queue ${dlq.node.id}: npm run redrive -- <this name>`,
      });
    }
    this.alarmTopic = this.#alarms(stage, config);
    this.#dashboard(stage);

    for (const [name, fn] of this.functions) {
      new CfnOutput(this, `${pascal(name)}FunctionName`, {
        value: fn.functionName,
        description: `The ${name} function`,
      });
    }
    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint, description: 'Base URL of the HTTP API' });
    new CfnOutput(this, 'EventBusName', {
      value: this.bus.eventBusName,
      description: 'Put integration events here',
    });
    new CfnOutput(this, 'WebhookSigningSecretsArn', {
      value: this.signingSecrets.secretArn,
      description: "Put the form providers' signing secrets in this secret (JSON)",
    });
    new CfnOutput(this, 'SalescalingApiKeySecretArn', {
      value: this.apiKeySecret.secretArn,
      description: 'Put the Salescaling API key in this secret',
    });
  }

  // ---------------------------------------------------------------------------------------------
  // The bus's trust boundary: only the project's functions speak as the project.

  /**
   * PutEvents on the bus for the project's source and only the detail types the event catalog says
   * this function publishes (its outbound entries' `by`).
   */
  #grantPublish(fn: HouseFunction, events: readonly EventDefinition[]): void {
    const detailTypes = publishedDetailTypes(fn.declaration.name, events);
    if (detailTypes.length === 0) {
      throw new Error(
        `functions.${fn.declaration.name}: has access 'eventBus' but the event catalog names it as the publisher (by) of no outbound event`,
      );
    }
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [this.bus.eventBusArn],
        conditions: {
          StringEquals: { 'events:source': EVENT_SOURCE, 'events:detail-type': detailTypes },
        },
      }),
    );
    if (fn.role) this.#publisherRoles.push(fn.role);
  }

  /**
   * The bus's resource policy, as the bus's own `Policy` property: one document, replaced as a whole.
   * (`EventBus.addToResourcePolicy` makes an `AWS::Events::EventBusPolicy` per statement, whose
   * statement id CloudFormation treats as account-wide: aws/aws-cdk#29627.) It denies PutEvents with
   * the project's source (or one starting with it) to every principal but the publishing functions'
   * roles — same account or not, whatever their IAM allows — and allows each configured integration
   * its own sources.
   */
  #busPolicy(stage: Stage, config: StageConfig): void {
    // Built from the name, not the bus's Arn attribute: the bus cannot reference itself.
    const busArn = this.formatArn({
      service: 'events',
      resource: 'event-bus',
      resourceName: `salescaling-automation-${stage}`,
    });
    const projectSource = { StringLike: { 'events:source': `${EVENT_SOURCE}*` } };
    const statements = [
      new PolicyStatement({
        sid: 'OnlyTheProjectFunctionsPublishAsTheProject',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [busArn],
        conditions:
          this.#publisherRoles.length > 0
            ? {
                ...projectSource,
                ArnNotEquals: { 'aws:PrincipalArn': this.#publisherRoles.map((role) => role.roleArn) },
              }
            : projectSource,
      }),
      ...config.integrations.map(
        (integration) =>
          new PolicyStatement({
            sid: `Integration${pascal(integration.name)}`,
            effect: Effect.ALLOW,
            principals: [
              ...integration.principals.map((arn) => new ArnPrincipal(arn)),
              ...integration.accounts.map((account) => new AccountPrincipal(account)),
            ],
            actions: ['events:PutEvents'],
            resources: [busArn],
            conditions: {
              StringEquals: {
                'events:source': integration.sources,
                'events:detail-type': this.#integrationDetailTypes(integration),
              },
            },
          }),
      ),
    ];
    (this.bus.node.defaultChild as CfnEventBus).policy = new PolicyDocument({ statements }).toJSON();
  }

  /**
   * What an integration may send: its `detailTypes` (default: every inbound command but the
   * destructive ones, which must be named), and the
   * upstream detail types of the worked-example adapters that turn one of its sources into one of
   * those commands (`payment_intent.succeeded` from `billing.example` → Close Opportunity), so an
   * adapter keeps working for the integration it was written for and no other.
   */
  #integrationDetailTypes(integration: StageConfig['integrations'][number]): string[] {
    const commands = integration.detailTypes ?? DEFAULT_COMMAND_DETAIL_TYPES;
    const strings = (value: unknown) => [value].flat().filter((v): v is string => typeof v === 'string');
    const upstream = this.#adapters
      .filter(
        (adapter) =>
          strings(adapter.pattern.source).some((source) => integration.sources.includes(source)) &&
          strings(adapter.template['detail-type']).some((type) => commands.includes(type)),
      )
      .flatMap((adapter) => strings(adapter.pattern['detail-type']));
    return [...new Set([...commands, ...upstream])];
  }

  #emptySecret(stage: Stage, removalPolicy: RemovalPolicy): ISecret {
    const secret = new Secret(this, 'SalescalingApiKey', {
      secretName: `salescaling-automation/${stage}/salescaling-api-key`,
      description: 'The Salescaling API key (x-api-key). Created empty: put the key in after deploying.',
      removalPolicy,
    });
    // Created empty: no generated value that could be mistaken for a key.
    (secret.node.defaultChild as CfnSecret).addPropertyDeletionOverride('GenerateSecretString');
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Salescaling keys are issued in the Salescaling UI, not by an API a rotation Lambda could call; rotate by putting a new key in the secret: each function uses it within five minutes (its cache lifetime), at once after a 401 (docs/runbook.md).',
    });
    return secret;
  }

  #httpApi(
    stage: Stage,
    config: StageConfig,
    logRetention: RetentionDays,
    removalPolicy: RemovalPolicy,
  ): [HttpApi, HttpStage] {
    const api = new HttpApi(this, 'Api', {
      apiName: `salescaling-automation-${stage}`,
      description: 'Lead capture and health endpoints',
      createDefaultStage: false,
      corsPreflight:
        config.api.allowedOrigins.length > 0
          ? {
              allowOrigins: config.api.allowedOrigins,
              allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.POST],
              allowHeaders: ['content-type'],
              maxAge: Duration.hours(1),
            }
          : undefined,
    });
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', { retention: logRetention, removalPolicy });
    const apiStage = new HttpStage(this, 'ApiDefaultStage', {
      httpApi: api,
      stageName: '$default',
      autoDeploy: true,
      throttle: config.api.throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            routeKey: '$context.routeKey',
            status: '$context.status',
            latencyMs: '$context.responseLatency',
            sourceIp: '$context.identity.sourceIp',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    return [api, apiStage];
  }

  /**
   * Alarms to one encrypted SNS topic (its email subscribers from the stage settings) and, when the
   * stage names one, an existing topic: any message on any dead-letter queue and dead letters near
   * expiry, a function queue's backlog, any function error or throttle, a run near its timeout, a
   * schedule that stopped running, the API's 5xx count and p99 latency, a sustained rate of
   * Salescaling 429s, and the shared budget's table unusable for 15 minutes (its fallback in use).
   */
  #alarms(stage: Stage, config: StageConfig): Topic {
    // CloudWatch publishes as a service: only for this account's alarms (no confused deputy).
    const fromOurAlarms = {
      StringEquals: { 'aws:SourceAccount': this.account },
      ArnLike: {
        'aws:SourceArn': this.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: '*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };
    const key = new Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // SNS encrypts what CloudWatch publishes with this key, on CloudWatch's behalf.
    key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsUseTheKey',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromOurAlarms,
      }),
    );
    const topic = new Topic(this, 'Alarms', {
      displayName: `Salescaling automation (${stage}) alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: fromOurAlarms,
      }),
    );
    for (const email of config.alarms.emails) {
      const subscription = topic.addSubscription(new EmailSubscription(email));
      Validations.of(subscription).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'An alarm email SNS cannot deliver is retried by SNS; the alarm stays in ALARM in CloudWatch (state and history), and a dead-letter queue of undelivered alarms would itself reach no one.',
      });
    }
    const [wrongRegion] = alarmTopicProblems(stage, config);
    if (wrongRegion) throw new Error(wrongRegion);
    const topics: ITopic[] = [topic];
    if (config.alarms.existingTopicArn) {
      topics.push(Topic.fromTopicArn(this, 'ExistingAlarmTopic', config.alarms.existingTopicArn));
    }
    const actions = topics.map((t) => new SnsAction(t));
    const alarm = (id: string, props: AlarmProps) => new Alarm(this, id, props).addAlarmAction(...actions);
    const fiveMinutes = Duration.minutes(5);
    const atLeast = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
    const quietIfMissing = TreatMissingData.NOT_BREACHING;

    for (const queue of this.functionQueues) {
      alarm(`${queue.node.id}AgeAlarm`, {
        alarmDescription: `A message has waited ${config.alarms.oldestMessageMinutes} minutes on ${queue.node.id}: a backlog, or Salescaling failing while its records are retried`,
        metric: queue.metricApproximateAgeOfOldestMessage({ period: fiveMinutes, statistic: 'Maximum' }),
        threshold: config.alarms.oldestMessageMinutes * 60,
        evaluationPeriods: 1,
        comparisonOperator: atLeast,
        treatMissingData: quietIfMissing,
      });
    }
    for (const dlq of this.deadLetterQueues) {
      alarm(`${dlq.node.id}ExpiryAlarm`, {
        alarmDescription: `Dead letters on ${dlq.node.id} expire in ${DEAD_LETTER_RETENTION_DAYS - DEAD_LETTER_EXPIRY_WARNING_DAYS} days: redrive them now (see the runbook)`,
        metric: dlq.metricApproximateAgeOfOldestMessage({ period: Duration.hours(1), statistic: 'Maximum' }),
        threshold: DEAD_LETTER_EXPIRY_WARNING_DAYS * 24 * 60 * 60,
        evaluationPeriods: 1,
        comparisonOperator: atLeast,
        treatMissingData: quietIfMissing,
      });
    }
    for (const [fn, schedules] of this.#deployedSchedules) {
      const hours = Math.max(...schedules.filter((t) => t.enabled).map(expectedIntervalHours));
      // Unknown spacing (a weekly or monthly cron): no "stopped running" alarm (see docs/alarms.md).
      if (!Number.isFinite(hours) || hours <= 0) continue;
      // Two hours' slack: a daylight-saving change moves a time-zone schedule by an hour.
      const window = Math.min(hours + 2, MAX_ALARM_HOURS);
      alarm(`${pascal(fn.declaration.name)}NotRunningAlarm`, {
        alarmDescription: `${fn.declaration.name} has not run for ${window} hours: is its schedule disabled or failing to invoke it?`,
        metric: fn.metricInvocations({ period: Duration.hours(1), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: window,
        datapointsToAlarm: window,
        comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
        // Lambda reports nothing for an hour without invocations: that is the signal.
        treatMissingData: TreatMissingData.BREACHING,
      });
    }
    for (const dlq of this.deadLetterQueues) {
      alarm(`${dlq.node.id}Alarm`, {
        alarmDescription: `A message reached the dead-letter queue ${dlq.node.id}: see the runbook (redrive)`,
        metric: dlq.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: atLeast,
        treatMissingData: quietIfMissing,
      });
    }
    for (const [name, fn] of this.functions) {
      alarm(`${pascal(name)}ErrorsAlarm`, {
        alarmDescription: `${name} failed`,
        metric: fn.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: atLeast,
        treatMissingData: quietIfMissing,
      });
      alarm(`${pascal(name)}DurationAlarm`, {
        alarmDescription: `${name} ran close to its ${fn.declaration.timeoutSeconds} s timeout: a batch may time out and be redelivered whole`,
        metric: fn.metricDuration({ period: fiveMinutes, statistic: 'Maximum' }),
        threshold: Math.round(
          fn.declaration.timeoutSeconds * 1000 * (config.alarms.durationNearTimeoutPercent / 100),
        ),
        evaluationPeriods: 1,
        comparisonOperator: atLeast,
        treatMissingData: quietIfMissing,
      });
      alarm(`${pascal(name)}ThrottlesAlarm`, {
        alarmDescription: `${name} was throttled`,
        metric: fn.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: atLeast,
        treatMissingData: quietIfMissing,
      });
    }
    alarm('Api5xxAlarm', {
      alarmDescription: 'The API answered 5xx: senders will retry, but find out why',
      metric: this.api.metricServerError({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: config.alarms.api5xxThreshold,
      evaluationPeriods: 1,
      comparisonOperator: atLeast,
      treatMissingData: quietIfMissing,
    });
    alarm('ApiLatencyAlarm', {
      alarmDescription: 'The API is slow to answer (p99)',
      metric: this.api.metricLatency({ period: fiveMinutes, statistic: 'p99' }),
      threshold: config.alarms.apiLatencyP99Ms,
      evaluationPeriods: 3,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: quietIfMissing,
    });
    alarm('Salescaling429Alarm', {
      alarmDescription:
        'Salescaling keeps answering 429: lower salescaling.maxRequestsPerSecond or ask Salescaling for more',
      metric: productMetric('SalescalingRateLimited', fiveMinutes),
      threshold: config.alarms.salescaling429Threshold,
      evaluationPeriods: 3,
      comparisonOperator: atLeast,
      treatMissingData: quietIfMissing,
    });
    // The shared budget's fallback (shared/salescaling/limiter.ts): a table that stays unusable
    // (denied, throttled, unreachable) otherwise shows only as slower syncs.
    alarm('BudgetFallbackAlarm', {
      alarmDescription:
        'Salescaling calls have gone through the static local share for 15 minutes: the budget table cannot be used (denied, throttled or unreachable; see the logs). Syncs are slower until it is fixed',
      metric: productMetric('BudgetFallback', fiveMinutes),
      threshold: 1,
      evaluationPeriods: BUDGET_FALLBACK_PERIODS,
      datapointsToAlarm: BUDGET_FALLBACK_PERIODS,
      comparisonOperator: atLeast,
      treatMissingData: quietIfMissing,
    });
    return topic;
  }

  /** One dashboard: leads, opportunities, stale closes, Salescaling calls, queues, functions, the API. */
  #dashboard(stage: Stage): void {
    const m = (name: string) => productMetric(name, Duration.minutes(5));
    const functions = [...this.functions.values()];
    new Dashboard(this, 'Dashboard', {
      dashboardName: `salescaling-automation-${stage}`,
      widgets: [
        [
          new GraphWidget({
            title: 'Leads',
            left: [m('LeadsAccepted'), m('LeadsRejected'), m('LeadsDeadLettered')],
            width: 8,
          }),
          new GraphWidget({
            title: 'Opportunities',
            left: [
              m('OpportunitiesCreated'),
              m('OpportunitiesUpdated'),
              m('StaleDealsClosed'),
              m('CommandsApplied'),
            ],
            width: 8,
          }),
          new GraphWidget({
            title: 'Salescaling',
            left: [
              m('SalescalingCalls'),
              m('SalescalingRetries'),
              m('SalescalingRateLimited'),
              m('BudgetFallback'),
            ],
            // A per-lead figure: its average, not the sum over however many leads came in.
            right: [productMetric('SalescalingCallsPerLead', Duration.minutes(5), 'Average')],
            width: 8,
          }),
        ],
        [
          new GraphWidget({
            title: 'Dead-letter queues (messages)',
            left: this.deadLetterQueues.map((q) =>
              q.metricApproximateNumberOfMessagesVisible({ label: q.node.id, statistic: 'Maximum' }),
            ),
            width: 8,
          }),
          new GraphWidget({
            title: 'Function errors',
            left: functions.map((f) => f.metricErrors({ label: f.declaration.name })),
            width: 8,
          }),
          new GraphWidget({
            title: 'API',
            left: [
              this.api.metricCount({ label: 'requests' }),
              this.api.metricServerError({ label: '5xx' }),
              this.api.metricClientError({ label: '4xx' }),
            ],
            right: [this.api.metricLatency({ statistic: 'p99', label: 'p99 latency' })],
            width: 8,
          }),
        ],
      ],
    });
  }

  /** Powertools idempotency needs exactly these item actions on its table. */
  #grantIdempotency(fn: HouseFunction): void {
    this.#grantTable(this.idempotencyTable, 'idempotencyTable', fn);
  }

  /** The binding's declared item actions on its table, and the function named in its table policy. */
  #grantTable(table: Table, resource: 'idempotencyTable' | 'budgetTable', fn: HouseFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: resourceBindings[resource].dynamoDbTable.actions.map((action) => `dynamodb:${action}`),
        resources: [table.tableArn],
      }),
    );
    this.#addTableUser(table, fn);
  }

  /**
   * The shared Salescaling budget (shared/salescaling/budget.ts): one small item per budget,
   * rewritten a few times a second at most. No TTL. It holds no data (a lost item restarts at the
   * full budget), but is kept and backed up as every table is, so no table is an exception.
   */
  #budgetTable(removalPolicy: RemovalPolicy): Table {
    return new Table(this, 'BudgetTable', {
      partitionKey: {
        name: resourceBindings.budgetTable.dynamoDbTable.partitionKey,
        type: AttributeType.STRING,
      },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy,
    });
  }

  #addTableUser(table: Table, fn: HouseFunction): void {
    if (!fn.role)
      throw new Error(`functions.${fn.declaration.name}: has no role to name in the table policy`);
    this.#tableUsers.set(table, [...(this.#tableUsers.get(table) ?? []), fn.role]);
  }

  /**
   * The table's resource policy: a Deny of every item-level read and write (and their PartiQL forms;
   * transactions and batches are authorized as these actions) to every principal but the roles of
   * the functions whose `access` names the table, whatever their IAM allows. A run record decides a
   * sweep's dry run and cap, and an idempotency record whether a lead or command is applied, so no
   * one else may forge, edit, delete or read one. `Resource: *` (this table, and its indexes) and role
   * ARNs as a condition: the table cannot name its own ARN, and the roles do not depend on the table
   * (their grants are separate policies), so there is no cycle. No function naming the table: no one
   * at all.
   */
  #tablePolicy(table: Table): void {
    const users = this.#tableUsers.get(table) ?? [];
    table.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyItsFunctionsTouchItems',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: TABLE_ITEM_ACTIONS.map((action) => `dynamodb:${action}`),
        resources: ['*'],
        ...(users.length > 0
          ? { conditions: { ArnNotEquals: { 'aws:PrincipalArn': users.map((role) => role.roleArn) } } }
          : {}),
      }),
    );
  }

  /**
   * The stale-deal run records, written only by the sweep (a continuation event carries no more than
   * a run id and a step); records expire after RUN_RECORD_DAYS through the declared TTL attribute.
   */
  #sweepRunsTable(removalPolicy: RemovalPolicy): Table {
    const { partitionKey, timeToLiveAttribute } = resourceBindings.sweepRunsTable.dynamoDbTable;
    return new Table(this, 'SweepRunsTable', {
      partitionKey: { name: partitionKey, type: AttributeType.STRING },
      timeToLiveAttribute,
      billingMode: BillingMode.PAY_PER_REQUEST,
      // No encryption setting: DynamoDB encrypts every table at rest with the AWS owned key, as the
      // idempotency table (no KMS key to manage or pay for).
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy,
    });
  }

  /** The sweep reads, creates and conditionally updates its run records, and nothing else. */
  #grantSweepRuns(fn: HouseFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: resourceBindings.sweepRunsTable.dynamoDbTable.actions.map((action) => `dynamodb:${action}`),
        resources: [this.sweepRunsTable.tableArn],
      }),
    );
    this.#addTableUser(this.sweepRunsTable, fn);
  }

  #deadLetterQueue(id: string): Queue {
    const dlq = new Queue(this, `${id}Dlq`, {
      retentionPeriod: Duration.days(DEAD_LETTER_RETENTION_DAYS),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Dead letters are the only copy of what failed: kept with the stage's data.
      removalPolicy: this.#removalPolicy,
    });
    this.deadLetterQueues.push(dlq);
    Validations.of(dlq).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself a dead-letter queue.',
    });
    Validations.of(dlq).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason:
        'This queue is itself a dead-letter queue: the end of a redrive, alarmed on and redriven by hand.',
    });
    return dlq;
  }

  /** Rule on the bus → SQS queue (with DLQ) → function, with partial batch responses. */
  #eventTrigger(fn: HouseFunction, fnId: string, trigger: EventTrigger): [Queue, Queue] {
    const id = `${fnId}${pascal(trigger.name)}`;
    const dlq = this.#deadLetterQueue(id);
    const queue = new Queue(this, `${id}Queue`, {
      // AWS's advice for Lambda sources: at least six times the function timeout (checked above).
      visibilityTimeout: Duration.seconds(queueVisibilityTimeoutSeconds(fn.declaration.timeoutSeconds)),
      // Longer than the outage window (checked above), so no record expires while it is retried.
      retentionPeriod: Duration.seconds(QUEUE_RETENTION_SECONDS),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: {
        queue: dlq,
        maxReceiveCount: maxReceiveCountOf(fn.declaration, trigger, this.#retrySchedule),
      },
    });
    this.functionQueues.push(queue);
    const rule = new Rule(this, `${id}Rule`, {
      eventBus: this.bus,
      description: `${trigger.name} → ${fn.declaration.name}`,
      eventPattern: toCdkEventPattern(trigger.pattern),
      targets: [
        new SqsQueue(queue, { deadLetterQueue: dlq, retryAttempts: 185, maxEventAge: Duration.hours(24) }),
      ],
    });
    // Upstream events mapped onto this trigger's events: a rule each, whose input transformer
    // delivers the mapped event to the same queue.
    const rules = [rule];
    for (const adapter of trigger.adapters) {
      const adapterRule = new Rule(this, `${id}${pascal(adapter.name)}Adapter`, {
        eventBus: this.bus,
        description: `${adapter.name} → ${trigger.name}: ${adapter.description}`.slice(0, 512),
        eventPattern: toCdkEventPattern(adapter.pattern),
        targets: [
          new SqsQueue(queue, {
            message: RuleTargetInput.fromObject(transformerTemplate(adapter)),
            deadLetterQueue: dlq,
            retryAttempts: 185,
            maxEventAge: Duration.hours(24),
          }),
        ],
      });
      rules.push(adapterRule);
    }
    this.#onlyItsRulesSend(queue, rules);
    Validations.of(fn).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason:
        "SQS sources fail over through the queue's redrive policy to its dead-letter queue; Lambda's on-failure destinations apply to stream and Kafka sources only.",
    });
    fn.addEventSource(
      new SqsEventSource(queue, {
        batchSize: trigger.batchSize,
        maxBatchingWindow:
          trigger.maxBatchingWindowSeconds > 0
            ? Duration.seconds(trigger.maxBatchingWindowSeconds)
            : undefined,
        reportBatchItemFailures: true,
        maxConcurrency: trigger.maxConcurrency,
      }),
    );
    // The event source's grant (grantConsumeMessages) already lets the function call
    // sqs:ChangeMessageVisibility on this queue, and on no other: all the backoff needs.
    return [queue, dlq];
  }

  /**
   * The bus policy decides who may put the project's events; this keeps anyone from going around it
   * by writing straight into a function's queue. One Deny in the queue's one policy (beside the
   * SqsQueue targets' Allows for EventBridge): SendMessage whose `aws:SourceArn` is none of this
   * queue's rules, unless the caller is one of the stage's redrive roles. `aws:SourceArn` is set only
   * by an AWS service calling for one of its resources (here EventBridge, for a rule); an IAM
   * principal's own call has none, and `ArnNotEquals` on an absent key is true, so it is denied.
   * The role exemption (`aws:PrincipalArn`: the role's ARN, whatever the session) is left out when
   * no role is named, since a condition cannot list nothing: then no one else may send at all.
   */
  #onlyItsRulesSend(queue: Queue, rules: readonly Rule[]): void {
    queue.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyItsRulesSend',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['sqs:SendMessage'],
        resources: [queue.queueArn],
        conditions: {
          ArnNotEquals: {
            'aws:SourceArn': rules.map((r) => r.ruleArn),
            ...(this.#redriveRoles.length > 0 ? { 'aws:PrincipalArn': [...this.#redriveRoles] } : {}),
          },
        },
      }),
    );
  }

  /**
   * Scheduler → function (asynchronous invocation). The scheduler retries failed deliveries and
   * the function's asynchronous-invocation settings retry failed runs; both end in one DLQ.
   */
  #scheduleTriggers(fn: HouseFunction, fnId: string, triggers: ScheduleTrigger[]): void {
    const dlq = this.#deadLetterQueue(`${fnId}Schedules`);
    const strictest = triggers.reduce((a, b) => (a.retryAttempts <= b.retryAttempts ? a : b));
    fn.configureAsyncInvoke({
      retryAttempts: strictest.retryAttempts,
      maxEventAge: Duration.seconds(strictest.maxEventAgeSeconds),
      onFailure: new SqsDestination(dlq),
    });
    // One role for this function's schedules: invoke it, and dead-letter to its queue.
    const role = new Role(this, `${fnId}SchedulerRole`, {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
      description: `Lets EventBridge Scheduler run ${fn.declaration.name}`,
    });
    const functionLogicalId = this.getLogicalId(fn.node.defaultChild as CfnFunction);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${functionLogicalId}.Arn>:*]`,
      reason: `lambda:InvokeFunction on the versions and aliases of ${fn.declaration.name} only (how the Scheduler target grants invoke).`,
    });
    for (const declared of triggers) {
      // A stage may move a schedule (cron, time zone) or switch it off; the catalog holds the default.
      const override = this.#scheduleOverrides[declared.name] ?? {};
      const trigger: ScheduleTrigger = {
        ...declared,
        ...(override.cron ? { expression: { cron: override.cron } } : {}),
        ...(override.timeZone ? { timeZone: override.timeZone } : {}),
        ...(override.enabled !== undefined ? { enabled: override.enabled } : {}),
      };
      this.#deployedSchedules.set(fn, [...(this.#deployedSchedules.get(fn) ?? []), trigger]);
      new Schedule(this, `${fnId}${pascal(trigger.name)}Schedule`, {
        description: trigger.description,
        schedule: ScheduleExpression.expression(scheduleExpression(trigger), TimeZone.of(trigger.timeZone)),
        enabled: trigger.enabled,
        target: new LambdaInvoke(fn, {
          role,
          input: ScheduleTargetInput.fromObject(trigger.input),
          retryAttempts: 185,
          maxEventAge: Duration.seconds(trigger.maxEventAgeSeconds),
          deadLetterQueue: dlq,
        }),
      });
    }
  }
}

const DEAD_LETTER_RETENTION_DAYS = 14;
/** Dead letters this old raise the alarm: four days before SQS deletes them. */
const DEAD_LETTER_EXPIRY_WARNING_DAYS = 10;
/** Five-minute periods in a row with a request on the budget's fallback that raise the alarm. */
const BUDGET_FALLBACK_PERIODS = 3;
/** CloudWatch evaluates an alarm over at most seven days. */
const MAX_ALARM_HOURS = 7 * 24;

/**
 * The longest gap, in hours, between a schedule's runs, when it can be read off the expression:
 * `rate(...)`, or a cron that runs every day (any day of month, month and weekday). Otherwise NaN.
 */
function expectedIntervalHours(trigger: ScheduleTrigger): number {
  const expression = trigger.expression;
  if ('rate' in expression) {
    const match = /^(\d+) (minute|minutes|hour|hours|day|days)$/.exec(expression.rate);
    if (!match) return Number.NaN;
    const n = Number(match[1]);
    const unit = match[2] ?? '';
    return unit.startsWith('minute') ? Math.ceil(n / 60) : unit.startsWith('hour') ? n : n * 24;
  }
  const [, , dayOfMonth, month, dayOfWeek] = expression.cron.split(' ');
  const any = (field: string | undefined) => field === '*' || field === '?';
  return any(dayOfMonth) && any(month) && any(dayOfWeek) ? 24 : Number.NaN;
}

/** Every DynamoDB action that reads or writes items, as IAM names them. */
export const TABLE_ITEM_ACTIONS = [
  'GetItem',
  'BatchGetItem',
  'Query',
  'Scan',
  'ConditionCheckItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'PartiQLSelect',
  'PartiQLInsert',
  'PartiQLUpdate',
  'PartiQLDelete',
] as const;

/** An adapter's template with its `<name>` placeholders as EventBridge input-transformer fields. */
function transformerTemplate(adapter: Adapter): unknown {
  const field = (name: string) => EventField.fromPath(adapter.inputPaths[name] ?? '$');
  const fill = (node: unknown): unknown => {
    if (typeof node === 'string') {
      const only = /^<([A-Za-z][A-Za-z0-9_]*)>$/.exec(node);
      if (only?.[1]) return field(only[1]);
      return node.replace(/<([A-Za-z][A-Za-z0-9_]*)>/g, (_, name: string) => field(name));
    }
    if (Array.isArray(node)) return node.map(fill);
    if (typeof node === 'object' && node !== null) {
      return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, fill(value)]));
    }
    return node;
  };
  return fill(adapter.template);
}

/** A metric the functions emit with Powertools (namespace and service dimension as they set them). */
function productMetric(metricName: string, period: Duration, statistic = 'Sum'): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE_NAME },
    period,
    statistic,
  });
}

/** Where a function's failed invocations go, as the reason its missing Lambda DLQ is fine. */
function failureDestinations(declaration: FunctionDeclaration): string {
  const kinds = new Set(declaration.triggers.map((t) => t.kind));
  const parts: string[] = [];
  if (kinds.has('http'))
    parts.push('API Gateway invokes it synchronously and returns the error to the caller');
  if (kinds.has('event'))
    parts.push('event records come through SQS queues whose redrive policies end in dead-letter queues');
  if (kinds.has('schedule'))
    parts.push('scheduled runs are asynchronous, with an SQS on-failure destination');
  return `No Lambda DLQ is needed: ${parts.join('; ')}.`;
}

/** The declaration holds EventBridge's own JSON; CDK's L2 spells one key differently. */
export function toCdkEventPattern(pattern: Record<string, unknown>): EventPattern {
  const { 'detail-type': detailType, ...rest } = pattern;
  return (detailType === undefined ? rest : { ...rest, detailType }) as EventPattern;
}

function pascal(name: string): string {
  return name
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
