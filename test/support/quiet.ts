import type { LocalRuntime } from '#local/runtime/runtime.ts';
import { eventually } from '#test/support/eventually.ts';

/**
 * Waits until no function of the runtime is running. A test clears the runtime's logs only then:
 * an invocation of the previous test that ends after the clear would otherwise be recorded
 * (invocations are logged when they end) as if the next test had caused it.
 */
export async function quiet(runtime: LocalRuntime): Promise<void> {
  await eventually(() => [...runtime.hosts.values()].every((host) => host.running === 0), Boolean);
}
