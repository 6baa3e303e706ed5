// The registry's own owner (registry.connect(), ended by disconnect() through Invocation.end): when closing
// a request-scoped client it held fails, disconnect() still finishes and rejects with CLOSED naming the
// database, with the close's failure as its cause, instead of reporting a clean shutdown.
import { afterAll, describe, expect, it } from 'vitest'
import { LazyDbError, Registry } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { tempDir } from '../support/tmp.js'
import { rejectionWithin } from './support.js'

const tmp = tempDir('lazydb-failed-close-')
afterAll(() => tmp.remove())

describe('disconnect() of a registry holding a request-scoped client', () => {
  it('rejects with CLOSED naming the database when closing that client fails', async () => {
    const registry = new Registry({
      database: libsql(`file:${tmp.file('request.db')}`, { scope: 'request' }),
      platform: 'node',
      warn: false,
    })
    await registry.connect()
    // Fault injection on the driver's own object: the close closes, then reports a failure.
    const client = await registry.database.client()
    const close = client.close.bind(client)
    client.close = () => {
      close()
      throw new Error('close failed')
    }
    const error = await rejectionWithin(registry.disconnect(), 3000, 'disconnect()')
    expect(error).toBeInstanceOf(LazyDbError)
    expect(error).toMatchObject({ code: 'CLOSED' })
    expect((error as Error).message).toMatch(/closing failed for: default$/)
    const failures = ((error as Error).cause as AggregateError).errors as LazyDbError[]
    expect(failures.map((f) => [f.code, f.database])).toEqual([['CLOSED', 'default']])
    expect(client.closed).toBe(true)
    expect(registry.stats().databases.default).toMatchObject({ scope: 'request', connects: 1, closes: 1 })
  })
})
