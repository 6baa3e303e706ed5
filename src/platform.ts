export type PlatformName = 'cloudflare' | 'vercel-edge' | 'vercel-node' | 'aws-lambda' | 'netlify' | 'node' | 'unknown'

export type WaitUntil = (promise: Promise<unknown>) => void

/** The minimal AsyncLocalStorage shape lazydb uses to find the current invocation. */
export interface ContextStorage<T> {
  getStore(): T | undefined
  run<R, A extends unknown[]>(store: T, fn: (...args: A) => R, ...args: A): R
}

type Env = Record<string, string | undefined>
const g = globalThis as Record<string, unknown> & { process?: { env?: Env; versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown } }

let detected: PlatformName | undefined

/** Which runtime this is, read once from globals and environment variables. */
export function detectPlatform(): PlatformName {
  if (detected !== undefined) return detected
  const env: Env = g.process?.env ?? {}
  const ua = (g.navigator as { userAgent?: string } | undefined)?.userAgent
  if (ua === 'Cloudflare-Workers') detected = 'cloudflare'
  else if (typeof g.EdgeRuntime === 'string') detected = 'vercel-edge'
  // Netlify and Vercel run on Lambda too (AWS_LAMBDA_FUNCTION_NAME is set there): check them first.
  else if (env.NETLIFY === 'true' || g.Netlify !== undefined) detected = 'netlify'
  else if (env.VERCEL === '1' || env.VERCEL_ENV !== undefined) detected = 'vercel-node'
  else if (env.AWS_LAMBDA_FUNCTION_NAME !== undefined) detected = 'aws-lambda'
  else if (g.process?.versions?.node !== undefined) detected = 'node'
  else detected = 'unknown'
  return detected
}

/** Runtimes where an I/O object created in one request must not be used by another. */
export function forbidsCrossRequestIo(platform: PlatformName): boolean {
  return platform === 'cloudflare' || platform === 'vercel-edge' || platform === 'unknown'
}

let storageClass: (new () => ContextStorage<unknown>) | undefined | null = null

/** Lets a platform adapter hand over the runtime's AsyncLocalStorage (e.g. from node:async_hooks). */
export function provideAsyncLocalStorage(cls: new () => ContextStorage<unknown>): void {
  storageClass = cls
}

/** A new AsyncLocalStorage where the runtime has one: global (Vercel Edge) or built in (Node). */
export function createContextStorage<T>(): ContextStorage<T> | undefined {
  if (storageClass === null) {
    const global = g.AsyncLocalStorage as (new () => ContextStorage<unknown>) | undefined
    const builtin = g.process?.getBuiltinModule?.('node:async_hooks') as { AsyncLocalStorage?: new () => ContextStorage<unknown> } | undefined
    storageClass = global ?? builtin?.AsyncLocalStorage
  }
  return storageClass === undefined ? undefined : (new storageClass() as ContextStorage<T>)
}

const VERCEL_CONTEXT = Symbol.for('@vercel/request-context')

/** `waitUntil` from the invocation's arguments (Workers ctx, Netlify context) or Vercel's request context. */
export function findWaitUntil(a: unknown, b: unknown, c: unknown): WaitUntil | undefined {
  for (const arg of [c, b, a]) {
    const fn = (arg as { waitUntil?: unknown } | null | undefined)?.waitUntil
    if (typeof fn === 'function') return fn.bind(arg) as WaitUntil
  }
  const vercel = (globalThis as Record<symbol, { get?: () => { waitUntil?: WaitUntil } | undefined } | undefined>)[VERCEL_CONTEXT]
  const fromVercel = vercel?.get?.()?.waitUntil
  return typeof fromVercel === 'function' ? fromVercel : undefined
}
