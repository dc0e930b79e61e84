import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { catalog } from '#functions/catalog.ts';
import { SALESCALING_BUDGET_MODES, type SalescalingBudgetMode } from '#functions/environment.ts';
import { staleDealsConfigSchema } from '#functions/stale-deals/config.ts';
import { LOCAL_BUS_NAME } from '#local/runtime/runtime.ts';
import { redrive } from '#local/tools/redrive.ts';
import { startLocalSystem } from '#local/tools/system.ts';
import { DEFAULT_OPPORTUNITY_STATUSES } from '#shared/salescaling/assumptions.ts';

/**
 * `npm run soak [-- --leads N --commands N --minutes N --seed N --outage-seconds N]`: the whole system under faults. N leads (a tenth of them sent twice),
 * inbound commands and two stale-deal sweeps go through the local runtime while the emulator answers
 * 20% of requests with 5xx, 5% with 429 and Retry-After, and hangs or drops 2%. Once it drains it
 * checks that every dead letter says why, then does what the runbook says once Salescaling is
 * healthy (redrive the dead-letter queues) and checks that every lead and command is exactly one
 * opportunity with its links, nothing is duplicated, and no stale deal was closed twice; then prints
 * one summary line and exits non-zero if anything is wrong. Then an outage phase: Salescaling answers
 * only 5xx while more leads arrive, for longer than the queue's old retries lasted (until every one
 * of them has failed more than 5 receives, and at least `outageSeconds`), then recovers: none may be
 * dead-lettered, and each must be synced exactly once. Loopback only; bounded in size and time.
 */
export interface SoakOptions {
  leads: number;
  commands: number;
  seed: number;
  timeLimitMs: number;
  /** The least time Salescaling answers only 5xx in the outage phase (default 30 s). */
  outageSeconds?: number;
  /** How the functions share the Salescaling budget (default shared; static is the old split, for comparison). */
  budget?: SalescalingBudgetMode;
  log?: (line: string) => void;
}

/** The receives a lead-sync record had before outages were ridden out (a fixed maxReceiveCount). */
const OLD_MAX_RECEIVE_COUNT = 5;

export interface SoakResult {
  ok: boolean;
  summary: string;
  problems: string[];
  /** Dead letters by reason (first 120 characters), to see that each is explained. */
  deadLetterReasons: Record<string, number>;
  /** The run up to the outage phase against its lower bound (see soakLowerBound). */
  bound: SoakBound;
}

export interface SoakBound {
  /** From the start to the end of the redrive's drain (the outage phase is held open by design). */
  seconds: number;
  requests: number;
  budgetRps: number;
  /** requests ÷ budget. */
  budgetSeconds: number;
  /** The time covered by at least one 429's Retry-After: no request may be sent then. */
  retryAfterSeconds: number;
  lowerBoundSeconds: number;
  ratio: number;
  /** The outage phase: held open for its minimum and for its receives, then drained. */
  outagePhaseSeconds: number;
  /** Around the 429s: see pauseStats. */
  pauses: ReturnType<typeof pauseStats>;
}

/**
 * The least time the soak's requests could take: every request at the budget's pace, plus the time
 * during which some 429's Retry-After forbade any request (the union of those windows, each from
 * the 429's answer). Hangs waiting out the client's timeout are left out, so the bound is low.
 */
export function soakLowerBound(
  requests: readonly { receivedAt: number; durationMs: number | null; status: number | null }[],
  budgetRps: number,
  retryAfterMs: number,
): { budgetSeconds: number; retryAfterSeconds: number } {
  const windows = requests
    .filter((r) => r.status === 429)
    .map((r) => {
      const from = r.receivedAt + (r.durationMs ?? 0);
      return [from, from + retryAfterMs] as const;
    })
    .sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let end = Number.NEGATIVE_INFINITY;
  for (const [from, to] of windows) {
    if (to <= end) continue;
    covered += to - Math.max(from, end);
    end = to;
  }
  return { budgetSeconds: requests.length / budgetRps, retryAfterSeconds: covered / 1000 };
}

/**
 * Where a soak's time goes around 429s (what `soakLowerBound` cannot tell): the Retry-After windows
 * merged, how long after each merged window ended the next request arrived (a restart the shared
 * budget may delay: every caller paused leases again), and what arrived inside the windows (sent on
 * slots leased before the 429, or by callers the 429 did not pause) and outside them.
 */
export function pauseStats(
  requests: readonly { receivedAt: number; durationMs: number | null; status: number | null }[],
  retryAfterMs: number,
): { windows: number; restartSeconds: number; requestsInside: number; requestsOutside: number } {
  const merged: [number, number][] = [];
  for (const r of requests
    .filter((q) => q.status === 429)
    .map((q) => q.receivedAt + (q.durationMs ?? 0))
    .sort((a, b) => a - b)) {
    const last = merged.at(-1);
    if (last && r <= last[1]) last[1] = Math.max(last[1], r + retryAfterMs);
    else merged.push([r, r + retryAfterMs]);
  }
  const arrivals = requests.map((q) => q.receivedAt).sort((a, b) => a - b);
  let restart = 0;
  let inside = 0;
  let i = 0;
  for (const [from, to] of merged) {
    while (i < arrivals.length && (arrivals[i] as number) < from) i++;
    while (i < arrivals.length && (arrivals[i] as number) < to) {
      inside++;
      i++;
    }
    const next = arrivals[i];
    if (next !== undefined) restart += next - to;
  }
  return {
    windows: merged.length,
    restartSeconds: restart / 1000,
    requestsInside: inside,
    requestsOutside: requests.length - inside,
  };
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const staleDeals = staleDealsConfigSchema.parse({ dryRun: false, maxClosesPerRun: 1000 });
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const outageSeconds = options.outageSeconds ?? 30;
  const budgetRps = 400;
  const retryAfterSeconds = 1;
  const { emulator, admin, runtime, close } = await startLocalSystem({
    seed: { opportunities: 200, seed: options.seed, staleShare: 0.3 },
    platform: {
      salescalingMaxRps: budgetRps,
      salescalingMaxConcurrency: 8,
      salescalingTimeoutMs: 1_000,
      salescalingBudget: options.budget ?? 'shared',
      // The stage's 6-hour window as 30 minutes: longer than the outage phase, whose rounds of
      // receives take a minute at the full size (50 failing leads, one batch at a time).
      retrySchedule: { windowSeconds: Math.max(1800, outageSeconds * 6), baseSeconds: 1, capSeconds: 5 },
    },
    runtime: {
      settings: { staleDealsConfig: JSON.stringify(staleDeals) },
      queueRetryDelayMs: 100,
      scheduleRetryDelayMs: 100,
    },
  });
  // The seed's stale deals are exactly those a sweep with these rules closes.
  const seededStale = emulator.seeded?.staleOpportunityIds ?? [];
  const problems: string[] = [];
  if (seededStale.length === 0) problems.push('the seed made no stale deals to sweep');
  try {
    await admin.setFaults({
      errorRate: 0.2,
      rateLimitRate: 0.05,
      retryAfterSeconds,
      hangRate: 0.01,
      dropRate: 0.01,
      seed: options.seed,
    });

    // Leads: each unique one has its own contact, company and deal name; a tenth are sent twice.
    const leads = Array.from({ length: options.leads }, (_, i) => ({
      email: `soak-${i}@company-${i % 50}.example.com`,
      name: `Soak Person ${i}`,
      company: `Company ${i % 50}`,
      deal_name: `Soak deal ${i}`,
      budget: String(1000 + i),
    }));
    const sends = [...leads, ...leads.filter((_, i) => i % 10 === 0)];
    let accepted = 0;
    for (const lead of sends) {
      for (let attempt = 0; attempt < 20; attempt++) {
        const response = await fetch(`${runtime.url}/leads`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(lead),
        });
        if (response.status === 202) {
          accepted += 1;
          break;
        }
        // 429 from route throttling: back off as a sender would.
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    log(`posted ${sends.length} leads (${accepted} accepted)`);

    // Inbound commands: upserts for contacts of their own.
    const bus = new EventBridgeClient({
      endpoint: runtime.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    });
    for (let i = 0; i < options.commands; i++) {
      await bus.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: LOCAL_BUS_NAME,
              Source: 'soak.example',
              DetailType: 'Upsert Opportunity',
              Detail: JSON.stringify({
                schemaVersion: 1,
                contact: { email: `command-${i}@partner.example.com` },
                opportunity: { name: `Soak command ${i}`, amount: i },
              }),
            },
          ],
        }),
      );
    }

    // Two sweeps (with their own retries), overlapping the lead traffic.
    for (let run = 0; run < 2; run++) {
      await fetch(`${runtime.url}/_local/schedules/stale-deals`, { method: 'POST' });
    }

    const expected = [
      ...leads.map((l) => ({ name: l.deal_name, company: true })),
      ...Array.from({ length: options.commands }, (_, i) => ({ name: `Soak command ${i}`, company: false })),
    ];
    const countSynced = (wanted = expected) => {
      const all = emulator.store.listOpportunities({}, { page: 1, limit: 100_000 });
      const byName = Map.groupBy(all, (o) => String(o.name));
      const missing: string[] = [];
      for (const { name, company } of wanted) {
        const matches = byName.get(name) ?? [];
        const [opportunity] = matches;
        if (matches.length > 1) missing.push(`${name}: ${matches.length} opportunities`);
        else if (!opportunity) missing.push(`${name}: no opportunity`);
        else {
          const contacts = emulator.store.listOpportunityContacts(opportunity.id, { page: 1, limit: 10 });
          const companies = emulator.store.listOpportunityCompanies(opportunity.id, { page: 1, limit: 10 });
          if (contacts.length !== 1 || (company && companies.length !== 1))
            missing.push(`${name}: ${contacts.length} contact and ${companies.length} company links`);
        }
      }
      return { synced: wanted.length - missing.length, missing };
    };
    // The bus keeps only its latest events: note each completed sweep while waiting.
    const sweepsCompleted = new Set<string>();
    const noteSweeps = () => {
      for (const e of runtime.bus.events.list())
        if (e['detail-type'] === 'Stale Sweep Completed') sweepsCompleted.add(e.id);
    };
    const waitForQuiet = async () => {
      // Until every queue is drained and nothing has moved for a moment.
      let quietSince = 0;
      while (Date.now() - started < options.timeLimitMs) {
        noteSweeps();
        const busy = runtime.queues.some((q) => q.depth > 0);
        if (!busy) {
          quietSince ||= Date.now();
          if (Date.now() - quietSince > 1500) return;
        } else quietSince = 0;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      problems.push(
        `queues still held messages at the time limit (${options.timeLimitMs / 60_000} minutes; raise it with --minutes)`,
      );
    };
    /**
     * Salescaling answers only 5xx while `count` leads arrive; the outage lasts at least `minSeconds`
     * and until every one of them has been received more than OLD_MAX_RECEIVE_COUNT times (so the old
     * settings would have dead-lettered them all), then Salescaling recovers.
     */
    const outagePhase = async (minSeconds: number) => {
      const phaseProblems: string[] = [];
      const count = Math.min(50, Math.max(5, Math.round(options.leads / 10)));
      const deadBefore = runtime.deadLetters.list().length;
      const queue = runtime.queues.find((q) => q.name === 'lead-sync-lead-received');
      await admin.setFaults({ errorRate: 1, errorStatuses: [500, 503] });
      const outageStarted = Date.now();
      const outageLeads = Array.from({ length: count }, (_, i) => ({
        email: `outage-${i}@outage-${i}.example.com`,
        name: `Outage Person ${i}`,
        company: `Outage Company ${i}`,
        deal_name: `Outage deal ${i}`,
        budget: String(500 + i),
      }));
      for (const lead of outageLeads) {
        let status = 0;
        for (let attempt = 0; attempt < 20 && status !== 202; attempt++) {
          const response = await fetch(`${runtime.url}/leads`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(lead),
          });
          await response.arrayBuffer();
          status = response.status;
          // 429 from route throttling: back off as a sender would.
          if (status === 429) await new Promise((resolve) => setTimeout(resolve, 100));
        }
        if (status !== 202) phaseProblems.push(`outage lead answered ${status}`);
      }
      let receives = 0;
      let counts: number[] = [];
      let outlasted = false;
      // Rounds of receives take about a minute at the full size: a phase not outlasted in ten
      // minutes (or its minimum, if longer) is stuck, and says on what, rather than waiting out the window.
      const phaseEnd = outageStarted + Math.max(minSeconds * 1000, 10 * 60_000);
      while (Date.now() - started < options.timeLimitMs && Date.now() < phaseEnd) {
        counts = queue?.receiveCounts() ?? [];
        receives = Math.max(receives, ...counts);
        outlasted = counts.length === count && counts.every((n) => n > OLD_MAX_RECEIVE_COUNT);
        if (outlasted && Date.now() - outageStarted >= minSeconds * 1000) break;
        // A dead letter means the phase has failed already: stop waiting for the rest.
        if (runtime.deadLetters.list().length > deadBefore) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      if (!outlasted) {
        const sorted = [...counts].sort((a, b) => a - b);
        phaseProblems.push(
          `the outage phase ended before every lead outlasted ${OLD_MAX_RECEIVE_COUNT} receives: ${counts.length} messages on the queue (${count} expected), receives ${sorted.slice(0, 5).join(', ')}${sorted.length > 5 ? ', …' : ''} (lowest first)`,
        );
      }
      const seconds = Math.round((Date.now() - outageStarted) / 1000);
      await admin.clearFaults();
      log(`outage: ${count} leads, ${seconds} s of 5xx, up to ${receives} receives each; recovering`);
      await waitForQuiet();
      const deadLetters = runtime.deadLetters.list().length - deadBefore;
      if (deadLetters > 0) phaseProblems.push(`${deadLetters} dead letters from the outage phase`);
      if (receives <= OLD_MAX_RECEIVE_COUNT) {
        phaseProblems.push(`the outage did not outlast the old ${OLD_MAX_RECEIVE_COUNT} receives`);
      }
      const { synced, missing } = countSynced(outageLeads.map((l) => ({ name: l.deal_name, company: true })));
      phaseProblems.push(...missing);
      return { leads: count, seconds, receives, deadLetters, synced, problems: phaseProblems };
    };
    await waitForQuiet();
    await admin.clearFaults();
    const faults = (await admin.requests()).filter((r) => r.fault !== null).length;

    // Under faults, what could not be done must be a dead letter that says why.
    const deadLetters = runtime.deadLetters.list();
    const unexplained = deadLetters.filter((d) => !d.reason);
    if (unexplained.length > 0) problems.push(`${unexplained.length} dead letters without a reason`);
    const syncedUnderFaults = countSynced().synced;

    // Then the runbook's step once Salescaling is healthy again: redrive every dead-letter queue
    // with SQS's message-move task (what `npm run redrive` does), and let it drain.
    const sqs = new SQSClient({
      endpoint: runtime.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    });
    for (const declaration of catalog) {
      for (const trigger of declaration.triggers) {
        if (trigger.kind !== 'event') continue;
        const code = await redrive(sqs, `${declaration.name}-${trigger.name}-dlq`, () => undefined, 100);
        if (code !== 0) problems.push(`redrive of ${declaration.name}-${trigger.name}-dlq failed`);
      }
    }
    await waitForQuiet();
    const left = runtime.deadLetters.list().filter((d) => d.source.startsWith('queue:'));
    if (left.length > 0) problems.push(`${left.length} dead letters again after the redrive`);

    // Every lead and command: exactly one opportunity with its links.
    const { synced, missing } = countSynced();
    problems.push(...missing);
    const contacts = emulator.store.listContacts({}, { page: 1, limit: 100_000 });
    const emails = contacts.map((c) => String(c.email).toLowerCase());
    const duplicateContacts = emails.length - new Set(emails).size;
    if (duplicateContacts > 0) problems.push(`${duplicateContacts} duplicate contacts`);
    const companies = emulator.store
      .listCompanies({}, { page: 1, limit: 100_000 })
      .map((c) => String(c.name));
    const duplicateCompanies = companies.length - new Set(companies).size;
    if (duplicateCompanies > 0) problems.push(`${duplicateCompanies} duplicate companies`);

    // Stale deals: each closed at most once, and none left open unless its sweep errors are counted.
    let closedStale = 0;
    for (const id of seededStale) {
      const deal = emulator.store.getOpportunity(id);
      const closes = (String(deal?.featuredNotes ?? '').match(/Closed as stale/g) ?? []).length;
      if (closes > 1) problems.push(`${id} closed ${closes} times`);
      if (deal?.status === DEFAULT_OPPORTUNITY_STATUSES.lost) closedStale += 1;
    }
    noteSweeps();
    const sweeps = sweepsCompleted.size;

    // The run so far against its lower bound, before the outage phase (held open by design).
    const mainEnded = Date.now();
    const mainRequests = await admin.requests();
    const parts = soakLowerBound(mainRequests, budgetRps, retryAfterSeconds * 1000);
    const mainSeconds = (mainEnded - started) / 1000;
    const lowerBoundSeconds = parts.budgetSeconds + parts.retryAfterSeconds;

    // The outage phase: Salescaling answers only 5xx; leads keep coming and must all survive it.
    const outage = await outagePhase(outageSeconds);
    const bound: SoakBound = {
      seconds: mainSeconds,
      requests: mainRequests.length,
      budgetRps,
      ...parts,
      lowerBoundSeconds,
      ratio: mainSeconds / lowerBoundSeconds,
      outagePhaseSeconds: (Date.now() - mainEnded) / 1000,
      pauses: pauseStats(mainRequests, retryAfterSeconds * 1000),
    };
    problems.push(...outage.problems);

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const summary =
      `soak: ${options.leads} leads (+${sends.length - options.leads} duplicate sends), ${options.commands} commands, ${sweeps} sweeps; ` +
      `${syncedUnderFaults} of ${expected.length} synced under faults, ${deadLetters.length} dead letters (${deadLetters.length - unexplained.length} explained), ` +
      `${synced} of ${expected.length} exactly once with their links after the redrive, ` +
      `0 duplicates expected / ${duplicateContacts + duplicateCompanies} found, ${closedStale} of ${seededStale.length} stale deals closed once; ` +
      `outage of ${outage.seconds} s (only 5xx; up to ${outage.receives} receives each): ${outage.deadLetters} dead letters, ${outage.synced} of ${outage.leads} leads synced once after; ` +
      `${faults} faults injected; ${seconds} s; ${problems.length === 0 ? 'OK' : `${problems.length} PROBLEMS`}`;
    const deadLetterReasons: Record<string, number> = {};
    for (const letter of deadLetters) {
      const reason = `${letter.functionName}: ${letter.reason.slice(0, 120)}`;
      deadLetterReasons[reason] = (deadLetterReasons[reason] ?? 0) + 1;
    }
    return { ok: problems.length === 0, summary, problems, deadLetterReasons, bound };
  } finally {
    await close();
  }
}

if (import.meta.main) {
  const budgetArg = (): SalescalingBudgetMode => {
    const index = process.argv.indexOf('--budget');
    const value = index >= 0 ? process.argv[index + 1] : 'shared';
    const mode = SALESCALING_BUDGET_MODES.find((m) => m === value);
    if (!mode) {
      console.error(`--budget must be one of ${SALESCALING_BUDGET_MODES.join(', ')}`);
      process.exit(2);
    }
    return mode;
  };
  const arg = (name: string, fallback: number) => {
    const index = process.argv.indexOf(`--${name}`);
    const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
    if (!Number.isInteger(value) || value < 0) {
      console.error(
        `--${name} must be a whole number\nUsage: npm run soak [-- --leads N --commands N --minutes N --seed N --outage-seconds N --budget shared|static]`,
      );
      process.exit(2);
    }
    return value;
  };
  const budget = budgetArg();
  runSoak({
    leads: arg('leads', 1000),
    commands: arg('commands', 100),
    seed: arg('seed', 7),
    // The full size takes about 17 minutes on 2 cores (shared budget), mostly waiting out injected delays.
    timeLimitMs: arg('minutes', 60) * 60_000,
    outageSeconds: arg('outage-seconds', 30),
    budget,
    log: (line) => console.info(line),
  }).then(
    (result) => {
      for (const problem of result.problems.slice(0, 20)) console.error(`  problem: ${problem}`);
      for (const [reason, count] of Object.entries(result.deadLetterReasons))
        console.info(`  dead letter ×${count}: ${reason}`);
      const b = result.bound;
      console.info(
        `soak time (${budget} budget): ${b.seconds.toFixed(1)} s to the end of the redrive, against a lower bound of ${b.lowerBoundSeconds.toFixed(1)} s (${b.requests} requests ÷ ${b.budgetRps}/s = ${b.budgetSeconds.toFixed(1)} s, plus ${b.retryAfterSeconds.toFixed(1)} s under a 429's Retry-After): ${b.ratio.toFixed(2)} × the bound; then the outage phase, ${b.outagePhaseSeconds.toFixed(1)} s (held open by design)`,
      );
      const p = b.pauses;
      console.info(
        `around the 429s: ${p.windows} Retry-After windows (merged), ${p.requestsInside} requests arrived inside them and ${p.requestsOutside} outside (${(p.requestsOutside / Math.max(0.001, b.seconds - b.retryAfterSeconds)).toFixed(1)}/s of the time outside); from each window's end to the next arrival: ${p.restartSeconds.toFixed(1)} s in all (${((1000 * p.restartSeconds) / Math.max(1, p.windows)).toFixed(0)} ms each)`,
      );
      console.info(result.summary);
      process.exit(result.ok ? 0 : 1);
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.stack : error);
      process.exit(1);
    },
  );
}
