import { randomUUID } from 'node:crypto';

/** What the local runtime keeps for people and tests to read: invocations, events, dead letters. */
export interface InvocationRecord {
  id: string;
  functionName: string;
  trigger: 'http' | 'event' | 'schedule';
  /** `POST /leads`, the rule name, or the schedule name. */
  source: string;
  startedAt: string;
  durationMs: number;
  outcome: 'ok' | 'error' | 'partial';
  detail: string;
  /** The invocation started a new sandbox (queue batches; see function-host.ts). */
  coldStart?: boolean | undefined;
}

export interface DeadLetter {
  id: string;
  /** `queue:<rule>` or `schedule:<name>`. */
  source: string;
  functionName: string;
  reason: string;
  attempts: number;
  payload: unknown;
  failedAt: string;
}

export class RingLog<T> {
  #items: T[] = [];
  readonly #capacity: number;
  constructor(capacity = 1000) {
    this.#capacity = capacity;
  }
  push(item: T): T {
    this.#items.push(item);
    if (this.#items.length > this.#capacity) this.#items.shift();
    return item;
  }
  list(): T[] {
    return [...this.#items];
  }
  clear(): void {
    this.#items = [];
  }
  protected replace(items: T[]): void {
    this.#items = items;
  }
}

export class DeadLetters extends RingLog<DeadLetter> {
  add(entry: Omit<DeadLetter, 'id' | 'failedAt'>): DeadLetter {
    return this.push({ id: randomUUID(), failedAt: new Date().toISOString(), ...entry });
  }

  /** Removes and returns the dead letters that match (a redrive takes them back). */
  take(matches: (letter: DeadLetter) => boolean): DeadLetter[] {
    const taken = this.list().filter(matches);
    this.replace(this.list().filter((letter) => !matches(letter)));
    return taken;
  }
}
