import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';

/**
 * The Salescaling request budget shared by every invocation of every function: one DynamoDB item
 * per budget, read and moved with conditional updates, so callers in any number of processes
 * together never exceed it and one busy caller may use all of it.
 *
 * The item is a token bucket kept as the time of its next free slot (GCRA, the "virtual
 * scheduling" form of a token bucket): leasing k tokens moves `nextAt` k intervals forward and
 * gives the caller those k send times. Slots are spaced 1/rate apart across all callers, so any
 * window of T seconds holds at most rate × T + 1 sends, and there is no burst after idling beyond
 * that one. A caller leases a few slots with one write (fewer than one write per call under load)
 * and waits for each; a slot whose time passed before a request took it is dropped (capacity lost,
 * never the budget exceeded). A request goes at its slot's time plus the timer's delay, no earlier,
 * and no later than LATE_LIMIT_MS after it (a later timer forfeits the slot): with the slots' spacing
 * that bounds every second of send times by the budget, however late the event loop runs.
 * A lone caller on an idle bucket leases a stretch of time instead (IDLE_RANGE_MS), sending within
 * it whenever it needs to, an interval apart: calls made one after another cost one write, not one
 * each.
 *
 * Adaptive, like the AWS SDK's adaptive retry mode: a 429 sets `pausedUntil` (its Retry-After,
 * capped) so every caller waits (from its next lease: slots already leased, at most half a second's
 * worth, are still used; the process that got the 429 drops its own), and lowers `rate` multiplicatively (at most once a second, so one
 * overload answered by several 429s counts once); the rate then recovers additively to the budget.
 */

export interface BudgetState {
  /** Epoch ms of the next free slot. */
  nextAt: number;
  /** Requests per second when last lowered (or the budget); recovers from `rateAt`. */
  rate: number;
  rateAt: number;
  /** No slot before this (epoch ms): a 429's Retry-After, for everyone. */
  pausedUntil: number;
  /** Optimistic-concurrency counter: every write is conditional on it. */
  version: number;
}

export interface TokenBucketOptions {
  client: DynamoDBClient;
  tableName: string;
  /** The whole budget, requests per second. */
  ratePerSecond: number;
  /** The item's key (one item per budget); default `salescaling`. */
  key?: string | undefined;
  now?: (() => number) | undefined;
  sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
  /** Most slots one write leases; default rate ÷ 2, between 2 and 10. */
  maxLease?: number | undefined;
}

/** An idle lease: from `start` to `end`, sends at least `interval` apart, the last by `end − interval`. */
interface IdleRange {
  start: number;
  end: number;
  interval: number;
}

/** Multiplicative decrease on a 429, as the AWS SDK's adaptive mode (β = 0.7). */
export const DECREASE_FACTOR = 0.7;
/** Additive increase: this share of the budget per second after the last decrease. */
export const RECOVERY_PER_SECOND = 0.05;
/** The rate never drops below this share of the budget. */
export const MIN_RATE_SHARE = 0.05;
/** A Retry-After pauses everyone for at most this long (a longer one fails the request instead). */
export const MAX_PAUSE_MS = 30_000;
/**
 * The farthest ahead a slot can be: far beyond what callers queue (at prod's 5 requests/s and the
 * lowest rate, 28 callers' leases reach about 2 minutes), near enough that a bad item cannot hold
 * every caller for long.
 */
export const MAX_AHEAD_MS = 10 * 60_000;
/** Leases without a dropped slot before a lone caller leases one slot ahead again. */
const LOOKAHEAD_AFTER = 8;
/**
 * What a lone caller leases while nobody else uses the bucket: this much time, rather than a few
 * slots, within which it sends whenever it needs to, its requests still an interval apart. A caller
 * slower than the budget (a record's calls one after another: lead sync's 7) would otherwise drop
 * the slots it leased ahead and write once per call. Bounded: another process arriving meanwhile
 * waits at most this long, once; from then on the bucket is busy and leases are slots again.
 */
export const IDLE_RANGE_MS = 200;
/**
 * Slots are spaced for 95% of the rate. A request leaves when its slot's timer fires, and a timer
 * fires late when the event loop is busy: one request 25 ms late followed by twenty on time puts 21
 * in a second of a 20/s budget (the burst benchmark saw exactly that at 100% and at 98%). At 95% a
 * request may arrive up to 52.6 ms after its slot before a second holds one too many: LATE_LIMIT_MS
 * of it is enforced here, the rest is margin for the way to the server.
 */
export const HEADROOM = 0.95;
/**
 * A request leaves within this long after its slot's time, or forfeits the slot. Slots are spaced
 * 1/(rate × HEADROOM) apart, so with every send in [slot, slot + LATE_LIMIT_MS] no second of send
 * times holds more than the budget (a whole number of requests/s) as long as LATE_LIMIT_MS stays
 * under 1000/HEADROOM − 1000 (52.6 ms at 95%): the rest, 32 ms, is left for the time between a
 * request leaving this process and the server stamping its arrival (docs/budget.md).
 */
export const LATE_LIMIT_MS = 20;
/** Attempts at one conditional write before giving up (contention this high means something is wrong). */
const MAX_WRITE_ATTEMPTS = 20;

/** The bucket's table could not be used (unreachable, throttled, denied): the caller falls back. */
export class BudgetUnavailableError extends Error {
  override name = 'BudgetUnavailableError';
}

const realSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** The most a lease starts ahead of now: a slow write once must not hold every caller back long. */
const MAX_LEAD_MS = 250;

export class TokenBucket {
  readonly budget: number;
  readonly #client: DynamoDBClient;
  readonly #tableName: string;
  readonly #key: string;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #maxLease: number;
  /** The item as last written or read by this process (a guess: every write checks its version). */
  #state: BudgetState | undefined;
  /** Slots leased and not yet used, earliest first. */
  #slots: number[] = [];
  #leasing: Promise<void> | undefined;
  #prefetched: Promise<void> | undefined;
  #waiting = 0;
  /**
   * Leases since a leased slot was last dropped unused. A lone caller leases one slot ahead (half
   * the writes) only while those slots get used: a caller slower than the budget's interval would
   * otherwise waste every other slot, capacity the other functions could have had.
   */
  #leasesSinceDrop = LOOKAHEAD_AFTER;
  /**
   * How far ahead of now a lease starts its slots: the last lease's write time, with half again as
   * margin. Slots leased from "now" would be past, and dropped, by the time the write returns: the
   * first slot of every idle lease wasted, and at a high rate every slot, leasing over and over.
   */
  #leadMs = 0;
  /** The idle lease this process holds, if any. */
  #range: IdleRange | undefined;
  /** The last slot handed out (slots and sends go in order). */
  #lastSlot: number | undefined;
  /** The item's version after this process's last lease, and that lease's first slot. */
  #leasedVersion = -1;
  #leaseStart = 0;
  /** Slots forfeited because their timer fired more than LATE_LIMIT_MS late (for tests and diagnostics). */
  forfeited = 0;

  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0) || !Number.isFinite(options.ratePerSecond)) {
      throw new Error(`ratePerSecond must be a positive number (got ${options.ratePerSecond})`);
    }
    this.budget = options.ratePerSecond;
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#key = options.key ?? 'salescaling';
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? realSleep;
    this.#maxLease = options.maxLease ?? Math.min(10, Math.max(2, Math.ceil(this.budget / 2)));
  }

  /** The rate now: the stored one plus its additive recovery, never above the budget. */
  rateAt(state: BudgetState, now: number): number {
    const recovered =
      state.rate + RECOVERY_PER_SECOND * this.budget * Math.max(0, (now - state.rateAt) / 1000);
    return Math.min(this.budget, Math.max(this.budget * MIN_RATE_SHARE, recovered));
  }

  /**
   * Waits for this caller's slot and resolves at its time, with that time. Throws
   * BudgetUnavailableError when the table cannot be used, and the signal's reason when aborted.
   */
  async acquire(signal?: AbortSignal): Promise<number> {
    this.#waiting++;
    try {
      for (;;) {
        signal?.throwIfAborted();
        const now = this.#now();
        let slot: number | undefined;
        const range = this.#range;
        if (range) {
          const at = Math.max(now, range.start, (this.#lastSlot ?? -Infinity) + range.interval);
          if (at <= range.end - range.interval) slot = at;
          else this.#range = undefined;
        }
        if (slot === undefined) {
          // A slot too far past to be sent within LATE_LIMIT_MS of its time is dropped, never sent
          // late: late sends could bunch with later slots.
          while (this.#slots.length > 0 && (this.#slots[0] as number) < now - LATE_LIMIT_MS) {
            this.#slots.shift();
            this.#leasesSinceDrop = 0;
          }
          slot = this.#slots.shift();
        }
        if (slot !== undefined) {
          this.#lastSlot = slot; // handed out (slots go in order), spent even if this caller is aborted
          if (slot > now) await this.#sleep(slot - now, signal);
          // The pacing guarantee: a request leaves within LATE_LIMIT_MS of its slot or not at all. A
          // timer that fired later (a busy event loop) forfeits its slot, and the caller takes the next.
          if (this.#now() - slot <= LATE_LIMIT_MS) return slot;
          this.forfeited++;
          continue;
        }
        const ahead = this.#leasesSinceDrop >= LOOKAHEAD_AFTER ? 2 : 1;
        this.#leasing ??= this.#lease(Math.min(this.#maxLease, Math.max(ahead, this.#waiting))).finally(
          () => {
            this.#leasing = undefined;
            this.#leasesSinceDrop++;
          },
        );
        await this.#leasing;
      }
    } finally {
      this.#waiting--;
    }
  }

  /**
   * Salescaling answered 429: pause every caller until the Retry-After (capped at MAX_PAUSE_MS)
   * and lower the shared rate. Throws BudgetUnavailableError when the table cannot be used.
   */
  async rateLimited(retryAfterMs: number | undefined): Promise<void> {
    const pause = Math.min(Math.max(0, retryAfterMs ?? 0), MAX_PAUSE_MS);
    this.#slots = []; // leased before the pause: not to be used through it
    this.#range = undefined;
    this.#leasedVersion = -1;
    await this.#write((state, now) => {
      const lower = now - state.rateAt >= 1000;
      return {
        ...state,
        rate: lower
          ? Math.max(this.budget * MIN_RATE_SHARE, this.rateAt(state, now) * DECREASE_FACTOR)
          : state.rate,
        rateAt: lower ? now : state.rateAt,
        pausedUntil: Math.max(state.pausedUntil, now + pause),
      };
    });
  }

  /**
   * Reads the item now, without waiting, so the first lease need not (a cold start's read overlaps
   * its other first calls). A failure is left for the first lease to meet and report.
   */
  prefetch(): void {
    this.#prefetched ??= this.#get().then(
      (state) => {
        const now = this.#now();
        // Nobody is using the budget: lease the first idle stretch now as well, so that the first
        // request finds it (a busy budget is not leased ahead: those slots could pass unused).
        if (state.nextAt > now || state.pausedUntil > now || this.#leasing) return;
        this.#leasing = this.#lease(1, { idleOnly: true })
          .catch(() => undefined) // the first request leases again, and meets the error itself
          .finally(() => {
            this.#leasing = undefined;
          });
      },
      () => undefined,
    );
  }

  /** The stored item, read strongly (for tests and diagnostics). */
  async read(): Promise<BudgetState> {
    return this.#get();
  }

  async #lease(count: number, options: { idleOnly?: boolean } = {}): Promise<void> {
    const slots: number[] = [];
    let range: IdleRange | undefined;
    const began = this.#now();
    const lone = this.#waiting <= 1;
    const wrote = await this.#write((state, now) => {
      const interval = 1000 / (this.rateAt(state, now) * HEADROOM);
      // Before the first write its time is unknown: the read that preceded it is the best guess.
      const lead = this.#leadMs || Math.min(MAX_LEAD_MS, (now - began) * 1.5);
      // Nobody leased since this process's last write, and it dropped that lease's unused slots: the
      // frontier after them is its own to take back (every other slot is before its last used one).
      // (From that lease's start on, nothing is anyone else's.)
      const ours =
        state.version === this.#leasedVersion && this.#slots.length === 0 && this.#range === undefined;
      const frontier = ours
        ? Math.min(state.nextAt, Math.max(this.#leaseStart, (this.#lastSlot ?? 0) + interval))
        : state.nextAt;
      const start = Math.max(frontier, now + lead, state.pausedUntil);
      // Idle (nobody has leased ahead, no pause) and a lone caller: a stretch of time (IDLE_RANGE_MS),
      // where the interval is short enough for it to hold more than a slot or two.
      const idle = lone && frontier <= now && state.pausedUntil <= now;
      slots.length = 0;
      range = undefined;
      if (idle && IDLE_RANGE_MS >= 2 * interval) {
        range = { start, end: start + Math.max(IDLE_RANGE_MS, count * interval), interval };
        return { ...state, nextAt: range.end };
      }
      if (options.idleOnly) return null;
      for (let i = 0; i < count; i++) slots.push(start + i * interval);
      return { ...state, nextAt: start + count * interval };
    });
    if (!wrote) return;
    this.#range = range;
    this.#leasedVersion = this.#state?.version ?? -1;
    this.#leaseStart = range?.start ?? slots[0] ?? 0;
    this.#leadMs = Math.min(MAX_LEAD_MS, (this.#now() - began) * 1.5);
    this.#slots.push(...slots);
  }

  /**
   * One optimistic read-modify-write of the item, retried on a lost race with the fresh item. False
   * when `change` returned null (nothing to write).
   */
  async #write(change: (state: BudgetState, now: number) => BudgetState | null): Promise<boolean> {
    if (this.#state === undefined) await this.#prefetched;
    let state = this.#state ?? (await this.#get());
    for (let attempt = 1; ; attempt++) {
      const next = change(state, this.#now());
      if (next === null) return false;
      next.version = state.version + 1;
      try {
        await this.#client.send(
          new UpdateItemCommand({
            TableName: this.#tableName,
            Key: { id: { S: this.#key } },
            UpdateExpression:
              'SET nextAt = :nextAt, rate = :rate, rateAt = :rateAt, pausedUntil = :pausedUntil, version = :next',
            ConditionExpression: state.version === 0 ? 'attribute_not_exists(version)' : 'version = :version',
            ExpressionAttributeValues: {
              ':nextAt': num(next.nextAt),
              ':rate': num(next.rate),
              ':rateAt': num(next.rateAt),
              ':pausedUntil': num(next.pausedUntil),
              ':next': num(next.version),
              ...(state.version === 0 ? {} : { ':version': num(state.version) }),
            },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        this.#state = next;
        return true;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw unavailable(error);
        if (attempt >= MAX_WRITE_ATTEMPTS) {
          throw new BudgetUnavailableError(`the budget item stayed contended for ${attempt} writes`);
        }
        // DynamoDB returns the current item with the failure; an emulator that does not is asked.
        state = error.Item ? this.#parse(error.Item) : await this.#get();
      }
    }
  }

  async #get(): Promise<BudgetState> {
    try {
      const { Item } = await this.#client.send(
        new GetItemCommand({
          TableName: this.#tableName,
          Key: { id: { S: this.#key } },
          ConsistentRead: true,
        }),
      );
      this.#state = Item
        ? this.#parse(Item)
        : { nextAt: 0, rate: this.budget, rateAt: 0, pausedUntil: 0, version: 0 };
      return this.#state;
    } catch (error) {
      throw unavailable(error);
    }
  }

  /**
   * The item as read, held to what this code could have written: only the functions' roles may
   * write it, but a bad item (a bug, a hand edit) must not stop every caller for good. A pause is
   * at most MAX_PAUSE_MS away, a slot at most MAX_AHEAD_MS, and the rate within its bounds.
   */
  #parse(item: Record<string, AttributeValue>): BudgetState {
    const field = (name: string, fallback: number) => {
      const value = Number(item[name]?.N);
      return Number.isFinite(value) ? value : fallback;
    };
    const now = this.#now();
    const within = (value: number, low: number, high: number) => Math.min(Math.max(value, low), high);
    return {
      nextAt: within(field('nextAt', 0), 0, now + MAX_AHEAD_MS),
      rate: within(field('rate', this.budget), this.budget * MIN_RATE_SHARE, this.budget),
      rateAt: within(field('rateAt', 0), 0, now),
      pausedUntil: within(field('pausedUntil', 0), 0, now + MAX_PAUSE_MS),
      version: field('version', 0),
    };
  }
}

function num(value: number): AttributeValue {
  return { N: String(value) };
}

function unavailable(error: unknown): BudgetUnavailableError {
  // The name only: an SDK error's message may quote the request.
  const name = error instanceof Error ? error.name : 'unknown error';
  return new BudgetUnavailableError(`the budget table could not be used (${name})`, { cause: error });
}
