import { expect } from 'vitest'
import { LazyDbError } from '@lazydb/core'

/** The LazyDbError `fn` throws synchronously; fails the test if it throws anything else or nothing. */
export function thrown(fn: () => unknown): LazyDbError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(LazyDbError)
    return error as LazyDbError
  }
  throw new Error('expected a LazyDbError')
}
