import * as z from 'zod';
import { MAX_LIST_LIMIT } from '#shared/salescaling/assumptions.ts';

/**
 * The stale-deal rules, per stage (cdk.json `staleDeals`; locally STALE_DEALS_CONFIG), validated at
 * cold start so a wrong setting fails with its name. The statuses it reads (open) and writes (lost)
 * are the account's, from the stage setting `salescaling.opportunityStatuses`.
 */
const pattern = z.string().refine(
  (source) => {
    try {
      new RegExp(source, 'i');
      return true;
    } catch {
      return false;
    }
  },
  { error: 'must be a valid regular expression' },
);

export const staleDealsConfigSchema = z
  .object({
    /** Stale when not updated for this many days; null switches the rule off. */
    staleAfterDays: z.number().int().positive().nullable().default(30),
    /** Stale when the close date passed more than this many days ago; null switches the rule off. */
    overdueGraceDays: z.number().int().min(0).nullable().default(14),
    /** The time zone whose calendar days count for close dates. */
    timeZone: z
      .string()
      .refine(
        (zone) => {
          try {
            new Intl.DateTimeFormat('en', { timeZone: zone });
            return true;
          } catch {
            return false;
          }
        },
        { error: 'must be an IANA time zone such as Europe/Madrid' },
      )
      .default('Europe/Madrid'),
    excludePriorities: z.array(z.string().min(1)).default([]),
    /** Deals worth at least this much are left to people; null: no limit. */
    excludeAmountAtLeast: z.number().nonnegative().nullable().default(null),
    /** Case-insensitive regular expressions on the deal's name. */
    excludeNamePatterns: z.array(pattern).default([]),
    /** Deals with an integration of one of these types (e.g. "crm") are owned elsewhere. */
    excludeIntegrationTypes: z.array(z.string().min(1)).default([]),
    /** Report only, change nothing. */
    dryRun: z.boolean(),
    /** Closes per run (continuations included); reaching it stops the run. */
    maxClosesPerRun: z.number().int().positive().default(50),
    pageSize: z.number().int().min(1).max(MAX_LIST_LIMIT).default(100),
  })
  .strict();

export type StaleDealsConfig = z.output<typeof staleDealsConfigSchema>;
export type StaleDealsConfigInput = z.input<typeof staleDealsConfigSchema>;
