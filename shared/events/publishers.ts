import { allEvents, type EventDefinition } from './catalog.ts';

/**
 * Which detail types each function may publish with the project's source, read from the event
 * catalog's outbound entries (`by` names the publishers, comma-separated). The stack's PutEvents
 * conditions and the local bus's authorization both come from here, so neither can drift from the
 * catalog.
 */
export function publishedDetailTypes(
  functionName: string,
  events: readonly EventDefinition[] = allEvents,
): string[] {
  return events
    .filter((event) => event.direction === 'outbound' && publishersOf(event).includes(functionName))
    .map((event) => event.detailType);
}

function publishersOf(event: EventDefinition): string[] {
  return event.by
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
}
