import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';

/**
 * Sends a record to its dead-letter queue with the reason as a message attribute (`reason`), for
 * failures the queue must not retry, or that ran out of deliveries. The record's body is kept as it
 * was, so a redrive sends the same event back.
 */
export function deadLetterSender(sqs: SQSClient, queueUrl: string) {
  return async (record: SQSRecord, reason: string): Promise<void> => {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: record.body,
        MessageAttributes: { reason: { DataType: 'String', StringValue: reason.slice(0, 1000) } },
      }),
    );
  };
}

/** Whether this is the queue's last delivery of the record (the redrive policy takes it next). */
export function isLastDelivery(record: SQSRecord, maxReceiveCount: number): boolean {
  return Number(record.attributes.ApproximateReceiveCount) >= maxReceiveCount;
}
