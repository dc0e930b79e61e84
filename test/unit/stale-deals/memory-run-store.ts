import {
  type SweepRun,
  type SweepRunChanges,
  type SweepRunStore,
  sweepRunSchema,
} from '#functions/stale-deals/run-store.ts';

/**
 * The run store in memory, with DynamoDB's conditional semantics (the same contract tests run
 * against it and against the DynamoDB store on dynalite: run-store.test.ts). Records are copied in
 * and out, so a test can only change them through the store or `records` (to forge a state).
 */
export class MemoryRunStore implements SweepRunStore {
  readonly records = new Map<string, SweepRun>();
  /** Every write, in order, for assertions. */
  readonly writes: Array<{ op: 'create' | 'claim' | 'update'; runId: string; ok: boolean }> = [];

  async create(run: SweepRun): Promise<void> {
    const ok = !this.records.has(run.runId);
    this.writes.push({ op: 'create', runId: run.runId, ok });
    if (!ok) throw new Error(`run ${run.runId} exists`);
    this.records.set(run.runId, structuredClone(sweepRunSchema().parse(run)));
  }

  async get(runId: string): Promise<SweepRun | undefined> {
    const run = this.records.get(runId);
    return run && structuredClone(run);
  }

  async claim(runId: string, step: number, lease: { id: string; until: number }, nowMs: number) {
    const run = this.records.get(runId);
    const ok =
      run !== undefined &&
      run.status === 'running' &&
      run.step === step &&
      (run.leaseId === undefined || (run.leaseUntil ?? 0) < nowMs);
    this.writes.push({ op: 'claim', runId, ok });
    if (ok) this.records.set(runId, { ...run, leaseId: lease.id, leaseUntil: lease.until });
    return ok;
  }

  async update(runId: string, expected: { step: number; leaseId: string | null }, changes: SweepRunChanges) {
    const run = this.records.get(runId);
    const ok =
      run !== undefined &&
      run.status === 'running' &&
      run.step === expected.step &&
      (expected.leaseId === null ? run.leaseId === undefined : run.leaseId === expected.leaseId);
    this.writes.push({ op: 'update', runId, ok });
    if (!ok) return false;
    const next: Record<string, unknown> = { ...run };
    for (const [key, value] of Object.entries(structuredClone(changes))) {
      if (value === undefined) continue;
      if (value === null) {
        delete next[key];
        if (key === 'leaseId') delete next.leaseUntil;
      } else next[key] = value;
    }
    this.records.set(runId, sweepRunSchema().parse(next));
    return true;
  }
}
