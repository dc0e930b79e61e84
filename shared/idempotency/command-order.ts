import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

/**
 * The newest command taken up per opportunity: one mark per key (`opportunity#<id>`, or what an
 * `Upsert Opportunity` resolves by), moved only forward. Commands older than the mark are superseded
 * (functions/integration-commands/commands.ts). The marks live in the idempotency table under their
 * own key prefix (Powertools' keys start with the function name), with the same `expiration` TTL
 * and lifetime as the idempotency records, so a replay of any archived window meets them.
 */
export interface OrderMark {
  /** The command's time, epoch milliseconds. */
  time: number;
  /** The event id of the command that set it. */
  commandId: string;
}

export type AdvanceResult = { advanced: true } | { advanced: false; newer: OrderMark | undefined };

export interface CommandOrderStore {
  /**
   * Moves the key's mark to `mark` unless it already holds a newer time (an equal time moves it: a
   * retry of the same command, or two commands in the same second, both go ahead). Atomic: of two
   * commands racing for one key, the older never moves the mark past the newer.
   */
  advance(key: string, mark: OrderMark): Promise<AdvanceResult>;
}

/** The table's key attribute and TTL attribute, as Powertools' DynamoDB layer names them. */
const KEY = 'id';
const TTL = 'expiration';
export const ORDER_KEY_PREFIX = 'command-order#';

/** Conditional UpdateItem on the idempotency table: `time` moves forward or not at all. */
export class DynamoDbCommandOrderStore implements CommandOrderStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #expirySeconds: number;
  readonly #now: () => number;

  constructor(options: {
    tableName: string;
    expirySeconds: number;
    client?: DynamoDBClient | undefined;
    now?: (() => number) | undefined;
  }) {
    this.#client = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient({}));
    this.#tableName = options.tableName;
    this.#expirySeconds = options.expirySeconds;
    this.#now = options.now ?? Date.now;
  }

  async advance(key: string, mark: OrderMark): Promise<AdvanceResult> {
    const now = this.#now();
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { [KEY]: `${ORDER_KEY_PREFIX}${key}` },
          UpdateExpression: 'SET #time = :time, #commandId = :commandId, #ttl = :ttl',
          // A mark past its TTL counts as gone (DynamoDB deletes expired items late).
          ConditionExpression: 'attribute_not_exists(#time) OR #time <= :time OR #ttl < :now',
          ExpressionAttributeNames: { '#time': 'commandTime', '#commandId': 'commandId', '#ttl': TTL },
          ExpressionAttributeValues: {
            ':time': mark.time,
            ':commandId': mark.commandId,
            ':ttl': Math.floor(now / 1000) + this.#expirySeconds,
            ':now': Math.floor(now / 1000),
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { advanced: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // DynamoDB returns the newer mark with the failure; an emulator that does not is asked for it.
      const item = error.Item
        ? { commandTime: Number(error.Item.commandTime?.N), commandId: error.Item.commandId?.S }
        : (
            await this.#client.send(
              new GetCommand({
                TableName: this.#tableName,
                Key: { [KEY]: `${ORDER_KEY_PREFIX}${key}` },
                ConsistentRead: true,
              }),
            )
          ).Item;
      const time = Number(item?.commandTime);
      return {
        advanced: false,
        newer: Number.isFinite(time) ? { time, commandId: String(item?.commandId ?? 'unknown') } : undefined,
      };
    }
  }
}

/** Where the marks live: beside the idempotency records (see `idempotencyStore`). */
export function commandOrderStore(
  tableName: string,
  expirySeconds: number,
  client?: DynamoDBClient,
): CommandOrderStore {
  return new DynamoDbCommandOrderStore({ tableName, expirySeconds, client });
}
