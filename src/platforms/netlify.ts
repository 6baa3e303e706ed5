export { handler } from '../handler.js'
/**
 * Netlify Functions (v2): `export default handler(registry, async (req, context) => Response)`.
 * Request-scoped cleanup runs through `context.waitUntil`.
 */
export type { HandlerOptions } from '../handler.js'
