import { setTimeout as sleep } from 'node:timers/promises';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';

/**
 * `npm run redrive -- <dead-letter queue name, URL or ARN>`: moves a dead-letter queue's messages
 * back to the queue they came from with SQS's own message-move task, and reports progress.
 *
 * It uses the AWS SDK's usual configuration (profile, region, credentials). To rehearse on the
 * local runtime, point it there: AWS_ENDPOINT_URL=http://127.0.0.1:3000 AWS_REGION=us-east-1
 * AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local npm run redrive -- lead-sync-lead-received-dlq
 */
export async function redrive(
  sqs: SQSClient,
  target: string,
  log: (line: string) => void = console.info,
  pollMs = 2000,
): Promise<number> {
  const queueUrl = /^https?:\/\//.test(target)
    ? target
    : (
        await sqs.send(
          new GetQueueUrlCommand({
            QueueName: target.startsWith('arn:') ? (target.split(':').at(-1) ?? target) : target,
          }),
        )
      ).QueueUrl;
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['QueueArn', 'ApproximateNumberOfMessages'],
    }),
  );
  const sourceArn = Attributes?.QueueArn;
  if (!sourceArn) throw new Error(`No ARN for ${queueUrl}`);
  log(
    `${sourceArn}: ${Attributes?.ApproximateNumberOfMessages ?? '?'} message(s) to move back to their source queue`,
  );
  const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: sourceArn }));
  for (;;) {
    const { Results } = await sqs.send(
      new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 10 }),
    );
    const task = Results?.find((t) => t.TaskHandle === TaskHandle) ?? Results?.[0];
    const moved = task?.ApproximateNumberOfMessagesMoved ?? 0;
    const total = task?.ApproximateNumberOfMessagesToMove ?? '?';
    log(`${task?.Status ?? 'UNKNOWN'}: ${moved} of ${total} moved`);
    if (task?.Status === 'COMPLETED') return 0;
    if (task?.Status === 'FAILED' || task?.Status === 'CANCELLED') {
      log(`The move task ended ${task.Status}${task.FailureReason ? `: ${task.FailureReason}` : ''}`);
      return 1;
    }
    await sleep(pollMs);
  }
}

if (import.meta.main) {
  const target = process.argv.slice(2).find((arg) => !arg.startsWith('-'));
  if (!target) {
    console.error('Usage: npm run redrive -- <dead-letter queue name, URL or ARN>');
    process.exit(2);
  }
  redrive(new SQSClient({}), target).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
