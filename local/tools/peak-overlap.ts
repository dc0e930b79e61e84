/**
 * The most intervals open at any one instant (requests in flight, invocations running). An end and
 * a start at the same instant do not overlap.
 */
export function peakOverlap(intervals: Iterable<{ start: number; end: number }>): number {
  const edges: { at: number; step: number }[] = [];
  for (const { start, end } of intervals) edges.push({ at: start, step: 1 }, { at: end, step: -1 });
  edges.sort((a, b) => a.at - b.at || a.step - b.step);
  let running = 0;
  let peak = 0;
  for (const edge of edges) {
    running += edge.step;
    peak = Math.max(peak, running);
  }
  return peak;
}
