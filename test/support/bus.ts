import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandOutput,
} from '@aws-sdk/client-eventbridge';
import { LOCAL_BUS_NAME } from '#local/runtime/runtime.ts';

/**
 * Puts one event on the local bus through the real SDK client, as another system would (source
 * `crm.example` unless given): EventBridge's answer, and the event's id (empty if it was refused).
 */
export async function putOnBus(
  bus: EventBridgeClient,
  detailType: string,
  detail: unknown,
  options: { source?: string; time?: Date } = {},
): Promise<PutEventsCommandOutput & { eventId: string }> {
  const result = await bus.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: LOCAL_BUS_NAME,
          Source: options.source ?? 'crm.example',
          DetailType: detailType,
          Detail: JSON.stringify(detail),
          ...(options.time ? { Time: options.time } : {}),
        },
      ],
    }),
  );
  return { ...result, eventId: result.Entries?.[0]?.EventId ?? '' };
}
