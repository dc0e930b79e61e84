/**
 * Runs a batch's records at once, except that a record waits for every earlier record sharing one
 * of its keys (a lead's contact or company, a command's opportunity): two records that would find
 * and create the same contact, or act on the same opportunity, run one after the other in batch
 * order, as they did when a whole batch ran in series. A record with no keys waits for nothing.
 * Make one per invocation: it keeps a promise per key until the batch is done.
 */
export function keyedChains(): <T>(keys: readonly string[], work: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<void>>();
  return <T>(keys: readonly string[], work: () => Promise<T>): Promise<T> => {
    const unique = [...new Set(keys)];
    const before = unique.flatMap((key) => {
      const tail = tails.get(key);
      return tail ? [tail] : [];
    });
    // An earlier record's failure is its own (reported alone); the next one still runs.
    const run = before.length === 0 ? work() : Promise.all(before).then(work);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    for (const key of unique) tails.set(key, settled);
    return run;
  };
}
