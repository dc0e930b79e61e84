/**
 * A value built on first use and kept: module scope stays cheap at cold start, and a function pays
 * only for what its events use (e.g. zod schemas, each a tree of objects to build).
 */
export function lazy<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => {
    built ??= { value: build() };
    return built.value;
  };
}
