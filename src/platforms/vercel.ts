export { handler } from '../handler.js'
/**
 * Vercel Functions (Node and Edge): `export const GET = handler(registry, async (req) => Response)`.
 * Cleanup and idle closes go through the `waitUntil` of Vercel's request context — the one
 * `@vercel/functions` reads — so nothing is cut off when the instance suspends. No import of
 * `@vercel/functions` is needed.
 */
export type { HandlerOptions } from '../handler.js'
