import type { WaitUntil } from '../wait-until.js'

// Vercel Functions (Node and Edge) keep the request's `waitUntil` in a request context on a global
// symbol, the one `@vercel/functions` reads; lazydb reads it the same way, without importing it.
const VERCEL_CONTEXT = Symbol.for('@vercel/request-context')

type RequestContextStore = { get?: () => { waitUntil?: WaitUntil } | undefined } | undefined

/** The current Vercel request's `waitUntil`, or undefined outside Vercel. */
export function vercelWaitUntil(): WaitUntil | undefined {
  const store = (globalThis as Record<symbol, RequestContextStore>)[VERCEL_CONTEXT]
  const waitUntil = store?.get?.()?.waitUntil
  return typeof waitUntil === 'function' ? waitUntil : undefined
}
