import * as z from 'zod';

/**
 * zod without its JIT: by default each object schema compiles a parser of its own (`new Function`)
 * the first time it parses, which a function pays on its first event for every schema that event
 * touches (about 15 ms of CPU in lead sync, docs/performance.md); a function parses a few objects
 * per event, where the compiled parsers never pay back. Imported first by the config modules, which
 * every handler imports before any module that builds a schema, because zod reads the setting when
 * a schema is built.
 */
z.config({ jitless: true });
