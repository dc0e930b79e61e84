import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { sweepTotalsSchema } from '#shared/events/catalog.ts';
import { lazy } from '#shared/lazy.ts';

/**
 * The record of one stale-deal run, written only by the sweep: what a continuation must never be
 * trusted to carry (dry run, reference time, next page, totals) lives here. A step is one
 * invocation; `step` is the number of the step due next (0 is the scheduled start). An invocation
 * holds a lease on its step while it runs, so a duplicate or replayed continuation cannot run the
 * same step beside it, and every write is conditional on the step and the lease.
 */
export const sweepRunSchema = lazy(() =>
  z
    .object({
      runId: z.uuid(),
      status: z.enum(['running', 'completed', 'abandoned']),
      dryRun: z.boolean(),
      referenceTime: z.iso.datetime(),
      startedAt: z.iso.datetime(),
      /** The next page to read. */
      page: z.number().int().min(1),
      /** The step due next, or running: 0 for the scheduled start, then one per continuation. */
      step: z.number().int().nonnegative(),
      totals: sweepTotalsSchema(),
      /** Closes attempted, counted before they are made, so a step run again after a crash keeps the cap. */
      closesAttempted: z.number().int().nonnegative(),
      capReached: z.boolean(),
      leaseId: z.string().optional(),
      /** Epoch milliseconds: until then the lease holder's invocation may still be running. */
      leaseUntil: z.number().int().optional(),
      finishedAt: z.iso.datetime().optional(),
      /** Why a run was abandoned. */
      reason: z.string().max(1000).optional(),
      /** Epoch seconds: DynamoDB's time to live deletes the record after this. */
      expiresAt: z.number().int(),
    })
    .strict(),
);
export type SweepRun = z.output<ReturnType<typeof sweepRunSchema>>;
/** What `update` may write (built once, at the first write). */
const changesSchema = lazy(() => sweepRunSchema().omit({ leaseId: true }).partial());
export type SweepTotals = SweepRun['totals'];

/** What a step may change; `leaseId: null` releases the lease. */
export type SweepRunChanges = Partial<
  Pick<
    SweepRun,
    | 'status'
    | 'page'
    | 'step'
    | 'totals'
    | 'closesAttempted'
    | 'capReached'
    | 'finishedAt'
    | 'reason'
    | 'leaseUntil'
  >
> & { leaseId?: string | null };

/** The state a conditional write expects: the step, and who holds it (null: nobody). */
export interface SweepRunExpectation {
  step: number;
  leaseId: string | null;
}

export interface SweepRunStore {
  /** Writes a new run; fails if the id exists. */
  create(run: SweepRun): Promise<void>;
  get(runId: string): Promise<SweepRun | undefined>;
  /**
   * Takes the lease on a running run's step, if that step is due and no one else holds it (or their
   * lease ran out). False otherwise.
   */
  claim(runId: string, step: number, lease: { id: string; until: number }, nowMs: number): Promise<boolean>;
  /** Applies the changes if the run is still running at the expected step and lease. False otherwise. */
  update(runId: string, expected: SweepRunExpectation, changes: SweepRunChanges): Promise<boolean>;
}

/** How long a run record is kept: DynamoDB's time to live removes it after that. */
export const RUN_RECORD_DAYS = 30;

export function expiresAt(startedAt: Date): number {
  return Math.floor(startedAt.getTime() / 1000) + RUN_RECORD_DAYS * 86_400;
}

/** The store on a DynamoDB table keyed by `runId` (`@aws-sdk/lib-dynamodb`). */
export function dynamoDbRunStore(client: DynamoDBDocumentClient, tableName: string): SweepRunStore {
  /** Whether a conditional write met its condition (true: written; false: refused by it). */
  const metCondition = async (write: () => Promise<unknown>): Promise<boolean> => {
    try {
      await write();
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  };
  return {
    async create(run) {
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: sweepRunSchema().parse(run),
          ConditionExpression: 'attribute_not_exists(runId)',
        }),
      );
    },
    async get(runId) {
      const { Item } = await client.send(
        new GetCommand({ TableName: tableName, Key: { runId }, ConsistentRead: true }),
      );
      return Item === undefined ? undefined : sweepRunSchema().parse(Item);
    },
    async claim(runId, step, lease, nowMs) {
      return metCondition(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { runId },
            UpdateExpression: 'SET leaseId = :lease, leaseUntil = :until',
            ConditionExpression:
              '#status = :running AND #step = :step AND (attribute_not_exists(leaseId) OR leaseUntil < :now)',
            ExpressionAttributeNames: { '#status': 'status', '#step': 'step' },
            ExpressionAttributeValues: {
              ':lease': lease.id,
              ':until': lease.until,
              ':running': 'running',
              ':step': step,
              ':now': nowMs,
            },
          }),
        ),
      );
    },
    async update(runId, expected, changes) {
      // What is written is checked like what is read: never a negative total, never an unknown field.
      changesSchema().parse(Object.fromEntries(Object.entries(changes).filter(([key]) => key !== 'leaseId')));
      const names: Record<string, string> = { '#status': 'status', '#step': 'step' };
      const values: Record<string, unknown> = { ':running': 'running', ':expectedStep': expected.step };
      const set: string[] = [];
      const remove: string[] = [];
      for (const [key, value] of Object.entries(changes)) {
        if (value === undefined) continue;
        names[`#${key}`] = key;
        if (value === null) {
          remove.push(`#${key}`);
          if (key === 'leaseId') remove.push('leaseUntil');
        } else {
          values[`:${key}`] = value;
          set.push(`#${key} = :${key}`);
        }
      }
      let condition = '#status = :running AND #step = :expectedStep AND ';
      if (expected.leaseId === null) condition += 'attribute_not_exists(leaseId)';
      else {
        condition += 'leaseId = :expectedLease';
        values[':expectedLease'] = expected.leaseId;
      }
      const expression = [
        set.length > 0 ? `SET ${set.join(', ')}` : '',
        remove.length > 0 ? `REMOVE ${remove.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join(' ');
      return metCondition(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { runId },
            UpdateExpression: expression,
            ConditionExpression: condition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
        ),
      );
    },
  };
}
