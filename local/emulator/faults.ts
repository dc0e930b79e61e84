import * as z from 'zod';
import { type OperationName, operationNames } from '#shared/salescaling/operations.ts';

/**
 * Fault injection. Two kinds, combinable:
 * - settings: standing rates (a share of requests answered 500/503 or 429, hung, or dropped),
 *   added latency, and a per-key requests-per-second limit. Shares are drawn from a seeded PRNG
 *   when `seed` is set, so a soak run is repeatable.
 * - script: one-shot faults consumed in order by the next matching requests ("the next 2
 *   createOpportunity calls answer 503"), which is what deterministic tests use.
 * A fault `when: 'after'` lets the operation take effect first and then fails the answer: the
 * ambiguous case (a write applied, the client never told).
 */
const share = z.number().min(0).max(1);
const operationSchema = z.enum(operationNames as [OperationName, ...OperationName[]]);

export const faultSettingsSchema = z
  .object({
    latencyMs: z.number().int().min(0).max(60_000).default(0),
    latencyJitterMs: z.number().int().min(0).max(60_000).default(0),
    errorRate: share.default(0),
    errorStatuses: z.array(z.number().int().min(500).max(599)).min(1).default([500, 503]),
    rateLimitRate: share.default(0),
    retryAfterSeconds: z.number().int().min(0).max(3600).default(1),
    requestsPerSecondPerKey: z.number().int().positive().nullable().default(null),
    hangRate: share.default(0),
    dropRate: share.default(0),
    /** Limit the standing rates to these operations; all when absent. */
    operations: z.array(operationSchema).optional(),
    seed: z.number().int().optional(),
  })
  .strict();
export type FaultSettings = z.output<typeof faultSettingsSchema>;
export type FaultSettingsInput = z.input<typeof faultSettingsSchema>;

export const scriptedFaultSchema = z
  .object({
    fault: z.enum(['error', 'rate-limit', 'hang', 'drop', 'latency']),
    /** For `error`; default 503. */
    status: z.number().int().min(400).max(599).optional(),
    /** For `rate-limit`; default 1. */
    retryAfterSeconds: z.number().int().min(0).max(3600).optional(),
    /** For `latency`. */
    latencyMs: z.number().int().min(0).max(60_000).optional(),
    when: z.enum(['before', 'after']).default('before'),
    operation: operationSchema.optional(),
    times: z.number().int().min(1).default(1),
  })
  .strict();
export type ScriptedFault = z.output<typeof scriptedFaultSchema>;
export type ScriptedFaultInput = z.input<typeof scriptedFaultSchema>;

export type FaultDecision =
  | { kind: 'none' }
  | { kind: 'error'; status: number; when: 'before' | 'after' }
  | { kind: 'rate-limit'; retryAfterSeconds: number }
  | { kind: 'hang'; when: 'before' | 'after' }
  | { kind: 'drop'; when: 'before' | 'after' };

export class FaultInjector {
  #settings: FaultSettings = faultSettingsSchema.parse({});
  #script: ScriptedFault[] = [];
  #random: () => number = Math.random;
  #windows = new Map<string, number[]>();

  constructor(settings?: FaultSettingsInput) {
    if (settings) this.configure(settings);
  }

  configure(input: FaultSettingsInput): FaultSettings {
    this.#settings = faultSettingsSchema.parse(input);
    this.#random = this.#settings.seed === undefined ? Math.random : mulberry32(this.#settings.seed);
    this.#windows.clear();
    return this.#settings;
  }

  enqueue(faults: readonly ScriptedFaultInput[]): void {
    this.#script.push(...faults.map((fault) => scriptedFaultSchema.parse(fault)));
  }

  reset(): void {
    this.configure({});
    this.#script = [];
  }

  snapshot(): { settings: FaultSettings; script: ScriptedFault[] } {
    return { settings: this.#settings, script: this.#script.map((fault) => ({ ...fault })) };
  }

  /** Added latency for this request: standing latency (with jitter) plus any scripted latency. */
  latencyFor(operation: OperationName | undefined): number {
    let latency = this.#settings.latencyMs;
    if (this.#settings.latencyJitterMs > 0)
      latency += Math.floor(this.#random() * this.#settings.latencyJitterMs);
    const scripted = this.#take(operation, (fault) => fault.fault === 'latency');
    if (scripted) latency += scripted.latencyMs ?? 0;
    return latency;
  }

  /**
   * The per-key requests-per-second limit (sliding one-second window). Returns the seconds to
   * wait when the key is over its limit; only admitted requests count.
   */
  admit(keyId: string, nowMs: number): { admitted: true } | { admitted: false; retryAfterSeconds: number } {
    const limit = this.#settings.requestsPerSecondPerKey;
    if (limit === null) return { admitted: true };
    const window = (this.#windows.get(keyId) ?? []).filter((at) => at > nowMs - 1000);
    if (window.length >= limit) {
      this.#windows.set(keyId, window);
      const oldest = window[0] ?? nowMs;
      return { admitted: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + 1000 - nowMs) / 1000)) };
    }
    window.push(nowMs);
    this.#windows.set(keyId, window);
    return { admitted: true };
  }

  decide(operation: OperationName | undefined): FaultDecision {
    const scripted = this.#take(operation, (fault) => fault.fault !== 'latency');
    if (scripted) return fromScript(scripted);
    const s = this.#settings;
    if (s.operations && (!operation || !s.operations.includes(operation))) return { kind: 'none' };
    // One draw splits [0, 1) into bands, so the shares are exact and independent of order.
    const draw = this.#random();
    let edge = s.errorRate;
    if (draw < edge) {
      const status = s.errorStatuses[Math.floor(this.#random() * s.errorStatuses.length)] ?? 500;
      return { kind: 'error', status, when: 'before' };
    }
    edge += s.rateLimitRate;
    if (draw < edge) return { kind: 'rate-limit', retryAfterSeconds: s.retryAfterSeconds };
    edge += s.hangRate;
    if (draw < edge) return { kind: 'hang', when: 'before' };
    edge += s.dropRate;
    if (draw < edge) return { kind: 'drop', when: 'before' };
    return { kind: 'none' };
  }

  #take(
    operation: OperationName | undefined,
    kind: (fault: ScriptedFault) => boolean,
  ): ScriptedFault | undefined {
    const index = this.#script.findIndex(
      (fault) => kind(fault) && (fault.operation === undefined || fault.operation === operation),
    );
    if (index < 0) return undefined;
    const fault = this.#script[index] as ScriptedFault;
    if (fault.times > 1) {
      this.#script[index] = { ...fault, times: fault.times - 1 };
    } else {
      this.#script.splice(index, 1);
    }
    return fault;
  }
}

function fromScript(fault: ScriptedFault): FaultDecision {
  switch (fault.fault) {
    case 'error':
      return { kind: 'error', status: fault.status ?? 503, when: fault.when };
    case 'rate-limit':
      return { kind: 'rate-limit', retryAfterSeconds: fault.retryAfterSeconds ?? 1 };
    case 'hang':
      return { kind: 'hang', when: fault.when };
    case 'drop':
      return { kind: 'drop', when: fault.when };
    default:
      return { kind: 'none' };
  }
}

/** Small seeded PRNG (public-domain mulberry32), for repeatable fault shares. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
