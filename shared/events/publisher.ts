import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandOutput,
} from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE, type EventDefinition, type EventDetailInput } from './catalog.ts';

/** Puts the project's events on its bus. Throws unless EventBridge accepted every entry. */
export interface EventPublisher {
  publish(detailType: string, detail: object): Promise<{ eventId: string }>;
}

export class EventPublishError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EventPublishError';
  }
}

export function eventBridgePublisher(client: EventBridgeClient, busName: string): EventPublisher {
  return {
    async publish(detailType, detail) {
      let result: PutEventsCommandOutput;
      try {
        result = await client.send(
          new PutEventsCommand({
            Entries: [
              {
                EventBusName: busName,
                Source: EVENT_SOURCE,
                DetailType: detailType,
                Detail: JSON.stringify(detail),
              },
            ],
          }),
        );
      } catch (cause) {
        throw new EventPublishError(`Could not put "${detailType}" on ${busName}`, { cause });
      }
      const entry = result.Entries?.[0];
      if ((result.FailedEntryCount ?? 0) > 0 || !entry?.EventId) {
        throw new EventPublishError(
          `EventBridge refused "${detailType}": ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`.trim(),
        );
      }
      return { eventId: entry.EventId };
    },
  };
}

/**
 * Publishes one catalog event: the detail is validated against its schema and stamped with its
 * schema version, so no event leaves the product in a shape the catalog does not document.
 */
export async function publishEvent<E extends EventDefinition>(
  publisher: EventPublisher,
  event: E,
  detail: EventDetailInput<E>,
): Promise<{ eventId: string }> {
  const parsed = event.schema.parse({ schemaVersion: event.version, ...(detail as object) }) as object;
  return publisher.publish(event.detailType, parsed);
}
