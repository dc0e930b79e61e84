/** The floor: a handler that does nothing (what Node and the bundle format cost on their own). */
export const handler = async () => ({ statusCode: 200 });
