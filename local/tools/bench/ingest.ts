import type { BenchSection } from './stats.ts';
export async function benchIngest(_runs: number): Promise<BenchSection> {
  throw new Error('todo');
}
