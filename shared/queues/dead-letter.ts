import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';

/**
 * Sends a record to its dead-letter queue with the reason as a message attribute (`reason`), for
 * failures the queue must not retry, or that ran out of deliveries. The record's body is kept as it
 * was, so a redrive sends the same event back.
 */
export function deadLetterSender(sqs: SQSClient, queueUrl: string) {
  return async (record: SQSRecord, reason: string): Promise<void> => {
    try {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: record.body,
          MessageAttributes: { reason: { DataType: 'String', StringValue: attributeText(reason) } },
        }),
      );
    } catch (cause) {
      // Thrown on, never swallowed: the record then fails, and stays on its own queue to be retried.
      throw new DeadLetterError(record.messageId, queueUrl, cause);
    }
  };
}

/** A dead letter SQS did not take: which message, which queue, and the AWS error (as the cause). */
export class DeadLetterError extends Error {
  constructor(messageId: string, queueUrl: string, cause: unknown) {
    const code = cause instanceof Error ? cause.name : 'UnknownError';
    super(`Could not send message ${messageId} to the dead-letter queue ${queueUrl}: ${code}`, { cause });
    this.name = 'DeadLetterError';
  }
}

/** Characters SQS refuses in a message or attribute (a lone surrogate among them, with the `u` flag). */
const NOT_ALLOWED_BY_SQS = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/**
 * A reason as a `reason` attribute SQS accepts: at most 1,000 characters, and anything SQS would
 * refuse (control characters a sender chose, half of a pair cut by the clip) replaced by U+FFFD, so a
 * reason can never make the dead letter itself fail.
 */
export function attributeText(reason: string): string {
  return reason.slice(0, 1000).replace(NOT_ALLOWED_BY_SQS, '\uFFFD');
}

/**
 * On the queue's last delivery of a record (the redrive policy would take it next, with no reason),
 * the reason to dead-letter it with ourselves; otherwise undefined: let the queue retry.
 */
export function lastDeliveryReason(
  record: SQSRecord,
  maxReceiveCount: number,
  error: unknown,
): string | undefined {
  const deliveries = Number(record.attributes.ApproximateReceiveCount);
  if (deliveries < maxReceiveCount) return undefined;
  const message = error instanceof Error ? error.message : String(error);
  return `Gave up after ${deliveries} deliveries: ${message}`;
}
