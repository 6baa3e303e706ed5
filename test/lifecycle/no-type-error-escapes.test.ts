// Bad input gets a LazyDbError with a code, never a raw TypeError from inside lazydb: a BigInt libSQL
// option (the warm cache key cannot JSON-encode it), registerDriver() and provideAsyncLocalStorage()
// with something that is not a driver or a class, and a frozen Lambda context (the adapter sets
// callbackWaitsForEmptyEventLoop, which a frozen object refuses: the handler must still run fn).
import { AsyncLocalStorage } from 'node:async_hooks'
import { afterAll, describe, expect, it } from 'vitest'
import { LazyDbError, provideAsyncLocalStorage, Registry, registerDriver } from '@lazydb/core'
import { handler as lambdaHandler } from '@lazydb/core/aws-lambda'
import { libsql } from '@lazydb/core/libsql'
import { tempDir } from '../support/tmp.js'
import { settledWithin } from './support.js'

const tmp = tempDir('lazydb-type-errors-')
afterAll(() => {
  provideAsyncLocalStorage(AsyncLocalStorage) // whatever the test below left behind
  tmp.remove()
})

function thrownBy(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}

function expectCode(error: unknown, code: string): void {
  const got = error === undefined ? 'no error' : `${(error as Error)?.name}: ${(error as Error)?.message}`
  expect(error, `expected a LazyDbError ${code}, got ${got}`).toBeInstanceOf(LazyDbError)
  expect((error as LazyDbError).code).toBe(code)
}

describe('no TypeError escapes', () => {
  it('a BigInt intMode is CONFIG_INVALID, given as { url, intMode } or to libsql()', () => {
    const url = `file:${tmp.file('bigint.db')}`
    expectCode(
      thrownBy(() => new Registry({ database: { url, intMode: 1n } })),
      'CONFIG_INVALID',
    )
    const bigintMode = 1n as unknown as 'bigint'
    expectCode(
      thrownBy(() => new Registry({ database: libsql(url, { intMode: bigintMode }) })),
      'CONFIG_INVALID',
    )
  })

  it('registerDriver(undefined) is INVALID_ARGUMENT', () => {
    expectCode(
      thrownBy(() => registerDriver(undefined as never)),
      'INVALID_ARGUMENT',
    )
  })

  it('provideAsyncLocalStorage(5) is INVALID_ARGUMENT', () => {
    expectCode(
      thrownBy(() => provideAsyncLocalStorage(5 as never)),
      'INVALID_ARGUMENT',
    )
  })

  it('the aws-lambda handler called with a frozen context resolves with the result of fn', async () => {
    const registry = new Registry({ database: `file:${tmp.file('lambda.db')}`, platform: 'aws-lambda', warn: false })
    const main = lambdaHandler(registry, async (event: { n: number }) => {
      const { rows } = await registry.database.query<{ doubled: number }>('select ? * 2 as doubled', [event.n])
      return rows[0]!.doubled
    })
    const context = Object.freeze({ functionName: 'frozen', awsRequestId: 'r1', callbackWaitsForEmptyEventLoop: true })
    const outcome = await settledWithin(
      Promise.resolve().then(() => main({ n: 21 }, context)),
      5000,
    )
    try {
      expect(outcome).toEqual({ status: 'fulfilled', value: 42 })
    } finally {
      await settledWithin(registry.disconnect({ force: true }), 5000)
    }
  })
})
