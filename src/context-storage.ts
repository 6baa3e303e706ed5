import { argumentError, describeValue } from './errors.js'

/** The minimal AsyncLocalStorage shape lazydb uses to find the current invocation. */
export interface ContextStorage<T> {
  getStore(): T | undefined
  run<R, A extends unknown[]>(store: T, fn: (...args: A) => R, ...args: A): R
}

type StorageClass = new () => ContextStorage<unknown>
let storageClass: StorageClass | undefined | null = null

/**
 * Hands over the runtime's AsyncLocalStorage class where it is neither a global nor built in
 * (`node:async_hooks` through `process.getBuiltinModule`). `@lazydb/core/cloudflare` calls it.
 * @example
 * import { AsyncLocalStorage } from 'node:async_hooks'
 * provideAsyncLocalStorage(AsyncLocalStorage)
 */
export function provideAsyncLocalStorage(cls: new () => ContextStorage<unknown>): void {
  const proto = typeof cls === 'function' ? (cls.prototype as Partial<ContextStorage<unknown>> | undefined) : undefined
  if (typeof proto?.run !== 'function' || typeof proto.getStore !== 'function') {
    throw argumentError(
      'provideAsyncLocalStorage',
      `expected the AsyncLocalStorage class (got ${describeValue(cls)})`,
      "Pass it as imported: import { AsyncLocalStorage } from 'node:async_hooks'",
    )
  }
  storageClass = cls
}

/** A new AsyncLocalStorage where the runtime has one: global (Vercel Edge), provided, or built in (Node). */
export function createContextStorage<T>(): ContextStorage<T> | undefined {
  if (storageClass === null) {
    const g = globalThis as {
      AsyncLocalStorage?: StorageClass
      process?: { getBuiltinModule?: (id: string) => unknown }
    }
    const builtin = g.process?.getBuiltinModule?.('node:async_hooks') as
      | { AsyncLocalStorage?: StorageClass }
      | undefined
    storageClass = g.AsyncLocalStorage ?? builtin?.AsyncLocalStorage
  }
  return storageClass === undefined ? undefined : (new storageClass() as ContextStorage<T>)
}
