import { Metrics } from '@aws-lambda-powertools/metrics';

/** The namespace of every metric the product emits (Powertools metrics, as EMF log lines). */
export const METRICS_NAMESPACE = 'SalescalingAutomation';

/** One Metrics instance per function process; service name (a dimension) from POWERTOOLS_SERVICE_NAME. */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE });
