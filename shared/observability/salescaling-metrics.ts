import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { TransportEvent } from '#shared/salescaling/transport.ts';
import { metrics } from './metrics.ts';

/**
 * Salescaling calls as metrics: totals on the function's own metrics (what the dashboard and the
 * 429 alarm read), and each call by operation and outcome as a metric of its own dimensions.
 */
export function recordSalescalingEvent(event: TransportEvent): void {
  if (event.type === 'retry') {
    metrics.addMetric('SalescalingRetries', MetricUnit.Count, 1);
    if (event.rateLimited)
      metrics.addMetric('SalescalingRateLimitWaitMs', MetricUnit.Milliseconds, event.delayMs);
    return;
  }
  metrics.addMetric('SalescalingCalls', MetricUnit.Count, 1);
  if (event.outcome === '429') metrics.addMetric('SalescalingRateLimited', MetricUnit.Count, 1);
  const single = metrics.singleMetric();
  single.addDimensions({ operation: event.operation, outcome: event.outcome });
  single.addMetric('SalescalingCallsByOperation', MetricUnit.Count, 1);
}
