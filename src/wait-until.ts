import { vercelWaitUntil } from './platforms/vercel-context.js'

export type WaitUntil = (promise: Promise<unknown>) => void

/**
 * `waitUntil` for this invocation: from its first three arguments (a Workers `ctx`, a Netlify `context`, any
 * argument with a `waitUntil` method), else from Vercel's request context.
 */
export function findWaitUntil(a: unknown, b: unknown, c: unknown): WaitUntil | undefined {
  return ownWaitUntil(c) ?? ownWaitUntil(b) ?? ownWaitUntil(a) ?? vercelWaitUntil()
}

function ownWaitUntil(arg: unknown): WaitUntil | undefined {
  if ((typeof arg !== 'object' && typeof arg !== 'function') || arg === null) return undefined
  const fn = (arg as { waitUntil?: unknown }).waitUntil
  return typeof fn === 'function' ? (fn.bind(arg) as WaitUntil) : undefined
}
