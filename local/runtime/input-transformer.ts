import type { Adapter } from '#functions/declaration.ts';

/**
 * EventBridge's input transformer, locally: `inputPaths` are read from the event (simple
 * `$.a.b.c` JSONPaths); in the template, a string that is only `<name>` takes the value as it is,
 * and `<name>` inside other text takes its text (missing values: null, or empty text).
 */
export function transformInput(adapter: Adapter, event: unknown): string {
  const values: Record<string, unknown> = {};
  for (const [name, path] of Object.entries(adapter.inputPaths)) values[name] = readPath(event, path);
  const fill = (node: unknown): unknown => {
    if (typeof node === 'string') {
      const only = /^<([A-Za-z][A-Za-z0-9_]*)>$/.exec(node);
      if (only?.[1]) return values[only[1]] ?? null;
      return node.replace(/<([A-Za-z][A-Za-z0-9_]*)>/g, (_, name: string) => {
        const value = values[name];
        if (value === undefined || value === null) return '';
        return typeof value === 'string' ? value : JSON.stringify(value);
      });
    }
    if (Array.isArray(node)) return node.map(fill);
    if (typeof node === 'object' && node !== null) {
      return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, fill(value)]));
    }
    return node;
  };
  return JSON.stringify(fill(adapter.template));
}

function readPath(value: unknown, path: string): unknown {
  let current: unknown = value;
  for (const key of path.split('.').slice(1)) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
