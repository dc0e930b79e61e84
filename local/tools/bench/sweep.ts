import type { BenchSection } from './stats.ts';
export async function benchSweep(_runs: number): Promise<BenchSection> {
  throw new Error('todo');
}
