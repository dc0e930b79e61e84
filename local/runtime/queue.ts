import { createHash, randomUUID } from 'node:crypto';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { EventTrigger } from '#functions/declaration.ts';
import type { FunctionHost } from './function-host.ts';
import type { DeadLetters } from './records.ts';

/**
 * An SQS queue in front of one function, as the stack builds it: batches of up to `batchSize`
 * records in SQS's event shape (with a receipt handle per receive and the attributes
 * ApproximateReceiveCount, SentTimestamp and ApproximateFirstReceiveTimestamp), partial batch
 * failures (`batchItemFailures`), `ChangeMessageVisibility` on a message in flight, redelivery after
 * a visibility delay, and the dead-letter list after `maxReceiveCount` receives.
 * Up to the trigger's `maxConcurrency` batches run at once, each in a sandbox of its own (as Lambda's
 * SQS poller scales out to the event source's maximum concurrency); a message is in one batch at most.
 * Locally the default redelivery delay is short (`retryDelayMs`) rather than the queue's visibility
 * timeout, and the batching window is not waited for. Time is real: a multi-hour outage window is
 * played out by giving the local stage a window of seconds, not by scaling the clock.
 */
interface Message {
  messageId: string;
  body: string;
  sentAt: number;
  receiveCount: number;
  firstReceivedAt: number | undefined;
  visibleAt: number;
  /** The current receive's handle; a new one each receive, as SQS does. */
  receiptHandle: string | undefined;
  /** When ChangeMessageVisibility made it visible again, during its current receive. */
  changedVisibleAt: number | undefined;
}

/** Why a visibility change was refused, as SQS names it. */
export type VisibilityChangeRefusal = 'ReceiptHandleIsInvalid' | 'MessageNotInflight';

export interface QueueBatchOutcome {
  records: number;
  failed: number;
  error?: string;
  /** This batch started a new sandbox. */
  coldStart: boolean;
}

/** One message's part in a batch, for the console (each delivery attempt and its outcome). */
export interface MessageDelivery {
  messageId: string;
  body: string;
  /** This receive's number (1 for the first delivery). */
  attempt: number;
  outcome: 'ok' | 'retry' | 'dead-lettered';
  /** When it will be delivered again (a retry), epoch milliseconds. */
  visibleAt?: number | undefined;
}

export class LocalQueue {
  readonly name: string;
  readonly arn: string;
  #trigger: EventTrigger;
  #host: FunctionHost;
  #deadLetters: DeadLetters;
  #retryDelayMs: number;
  #maxReceiveCount: number;
  #region: string;
  #messages: Message[] = [];
  /** Batches in flight now (at most the trigger's maxConcurrency). */
  #running = 0;
  #maxConcurrency: number;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #onBatch: (outcome: QueueBatchOutcome, startedAt: number) => void;
  #onDelivered:
    | ((deliveries: MessageDelivery[], outcome: QueueBatchOutcome, startedAt: number) => void)
    | undefined;

  constructor(options: {
    trigger: EventTrigger;
    host: FunctionHost;
    deadLetters: DeadLetters;
    retryDelayMs: number;
    /** The queue's redrive policy (functions/queue-retries.ts maxReceiveCountOf). */
    maxReceiveCount: number;
    region: string;
    accountId: string;
    onBatch: (outcome: QueueBatchOutcome, startedAt: number) => void;
    /** Told each message's outcome after a batch (the console). */
    onDelivered?:
      | ((deliveries: MessageDelivery[], outcome: QueueBatchOutcome, startedAt: number) => void)
      | undefined;
    /** Batches at once; default the trigger's maxConcurrency. */
    maxConcurrency?: number | undefined;
  }) {
    this.#maxConcurrency = options.maxConcurrency ?? options.trigger.maxConcurrency;
    this.#trigger = options.trigger;
    this.#host = options.host;
    this.#deadLetters = options.deadLetters;
    this.#retryDelayMs = options.retryDelayMs;
    this.#maxReceiveCount = options.maxReceiveCount;
    this.#region = options.region;
    this.#onBatch = options.onBatch;
    this.#onDelivered = options.onDelivered;
    this.name = `${options.host.declaration.name}-${options.trigger.name}`;
    this.arn = `arn:aws:sqs:${options.region}:${options.accountId}:${this.name}`;
  }

  /** Batches it runs at once. */
  get maxConcurrency(): number {
    return this.#maxConcurrency;
  }

  /** Receives before the dead-letter list (the redrive policy). */
  get maxReceiveCount(): number {
    return this.#maxReceiveCount;
  }

  /** How many times each message on the queue has been received so far (the soak's outage phase). */
  receiveCounts(): number[] {
    return this.#messages.map((m) => m.receiveCount);
  }

  get depth(): number {
    return this.#messages.length;
  }

  send(body: string): string {
    const messageId = randomUUID();
    this.#messages.push({
      messageId,
      body,
      sentAt: Date.now(),
      receiveCount: 0,
      firstReceivedAt: undefined,
      visibleAt: 0,
      receiptHandle: undefined,
      changedVisibleAt: undefined,
    });
    this.#schedule(0);
    return messageId;
  }

  /**
   * `ChangeMessageVisibility`: the message of this receipt handle becomes visible `seconds` from now
   * (SQS's rule). Locally only a message in flight can be changed, which is the only use made of it.
   */
  changeVisibility(receiptHandle: string, seconds: number): VisibilityChangeRefusal | undefined {
    const message = this.#messages.find((m) => m.receiptHandle === receiptHandle);
    if (!message) return 'ReceiptHandleIsInvalid';
    if (message.visibleAt !== Number.POSITIVE_INFINITY) return 'MessageNotInflight';
    message.changedVisibleAt = Date.now() + seconds * 1000;
    return undefined;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  #schedule(delayMs: number): void {
    if (this.#closed || this.#running >= this.#maxConcurrency) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#deliver(), delayMs);
  }

  #deliver(): void {
    this.#timer = undefined;
    while (!this.#closed && this.#running < this.#maxConcurrency) {
      const now = Date.now();
      // Longest visible first (a stable sort keeps arrival order among equals): a message failing
      // fast near the head of the queue must not starve those behind it, which SQS never does.
      const batch = this.#messages
        .filter((m) => m.visibleAt <= now)
        .sort((a, b) => a.visibleAt - b.visibleAt)
        .slice(0, this.#trigger.batchSize);
      if (batch.length === 0) break;
      this.#running += 1;
      void this.#runBatch(batch, now).finally(() => {
        this.#running -= 1;
        this.#scheduleNextVisible();
      });
    }
    this.#scheduleNextVisible();
  }

  async #runBatch(batch: Message[], now: number): Promise<void> {
    for (const message of batch) {
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.visibleAt = Number.POSITIVE_INFINITY; // in flight
      message.receiptHandle = randomUUID();
      message.changedVisibleAt = undefined;
    }
    let coldStart = false;
    const result = await this.#host.invoke(this.#event(batch), {
      exclusive: true,
      onColdStart: () => {
        coldStart = true;
      },
    });
    let failedIds: Set<string>;
    let reason: string;
    if (!result.ok) {
      failedIds = new Set(batch.map((m) => m.messageId));
      reason = `${result.error.name}: ${result.error.message}`;
    } else {
      const failures = (result.result as { batchItemFailures?: { itemIdentifier?: string }[] } | null)
        ?.batchItemFailures;
      failedIds = new Set((failures ?? []).map((f) => String(f.itemIdentifier)));
      reason = 'reported as a batch item failure';
    }
    // Record the invocation before its consequences (dead letters) become visible.
    const outcome: QueueBatchOutcome = {
      records: batch.length,
      failed: failedIds.size,
      coldStart,
      ...(result.ok ? {} : { error: reason }),
    };
    this.#onBatch(outcome, now);
    const deliveries: MessageDelivery[] = [];
    for (const message of batch) {
      const delivery: MessageDelivery = {
        messageId: message.messageId,
        body: message.body,
        attempt: message.receiveCount,
        outcome: 'ok',
      };
      deliveries.push(delivery);
      if (!failedIds.has(message.messageId)) {
        this.#remove(message);
      } else if (message.receiveCount >= this.#maxReceiveCount) {
        delivery.outcome = 'dead-lettered';
        this.#remove(message);
        this.#deadLetters.add({
          source: `queue:${this.#trigger.name}`,
          functionName: this.#host.declaration.name,
          reason,
          attempts: message.receiveCount,
          payload: safeJson(message.body),
        });
      } else {
        // The function's own delay when it set one, else the queue's.
        message.visibleAt = message.changedVisibleAt ?? Date.now() + this.#retryDelayMs;
        message.receiptHandle = undefined;
        delivery.outcome = 'retry';
        delivery.visibleAt = message.visibleAt;
      }
    }
    this.#onDelivered?.(deliveries, outcome, now);
  }

  #scheduleNextVisible(): void {
    if (this.#messages.length === 0) return;
    let next = Number.POSITIVE_INFINITY;
    // A loop, not Math.min(...spread): a deep queue (a 1,000-lead burst) must not hit the argument limit.
    for (const m of this.#messages) next = Math.min(next, m.visibleAt);
    if (Number.isFinite(next)) this.#schedule(Math.max(0, next - Date.now()));
  }

  #remove(message: Message): void {
    this.#messages = this.#messages.filter((m) => m !== message);
  }

  #event(batch: Message[]): SQSEvent {
    return {
      Records: batch.map(
        (message): SQSRecord => ({
          messageId: message.messageId,
          receiptHandle: message.receiptHandle ?? '',
          body: message.body,
          attributes: {
            ApproximateReceiveCount: String(message.receiveCount),
            SentTimestamp: String(message.sentAt),
            SenderId: 'AIDAEVENTBRIDGE',
            ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? Date.now()),
          },
          messageAttributes: {},
          md5OfBody: createHash('md5').update(message.body).digest('hex'),
          eventSource: 'aws:sqs',
          eventSourceARN: this.arn,
          awsRegion: this.#region,
        }),
      ),
    };
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
