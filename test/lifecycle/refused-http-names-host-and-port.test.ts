// A refused HTTP connect says where it tried to go: the CONNECT_FAILED message names host and port
// ('127.0.0.1:PORT'), not only undici's 'fetch failed' (libSQL over http://, and neon-http to its endpoint).
import { describe, expect, it } from 'vitest'
import { LazyDbError, Registry } from '@lazydb/core'
import '@lazydb/core/libsql'
import { neon } from '@lazydb/core/neon'
import { closedPort } from '../support/ports.js'
import { settledWithin } from './support.js'

async function refusedQueryError(registry: Registry): Promise<LazyDbError> {
  try {
    const outcome = await settledWithin(registry.database.query('select 1'), 5000)
    expect(outcome.status).toBe('rejected')
    const error = (outcome as { reason: unknown }).reason
    expect(error).toBeInstanceOf(LazyDbError)
    expect((error as LazyDbError).code).toBe('CONNECT_FAILED')
    return error as LazyDbError
  } finally {
    await settledWithin(registry.disconnect({ force: true }), 5000)
  }
}

describe('a refused HTTP connect', () => {
  it('libSQL over http://: the message names 127.0.0.1:PORT', async () => {
    const port = await closedPort()
    const database = `http://127.0.0.1:${port}`
    const registry = new Registry({ database, platform: 'node', warn: false, retry: { totalMs: 100 } })
    const error = await refusedQueryError(registry)
    expect(error.message).toContain(`127.0.0.1:${port}`)
  })

  it('neon-http to a closed endpoint: the message names 127.0.0.1:PORT', async () => {
    const port = await closedPort()
    const url = 'postgres://app:not-a-secret@ep-lazydb-test.neon.tech/test'
    const database = neon(url, { fetchEndpoint: `http://127.0.0.1:${port}/sql` })
    const registry = new Registry({ database, platform: 'node', warn: false, retry: { totalMs: 100 } })
    const error = await refusedQueryError(registry)
    expect(error.message).toContain(`127.0.0.1:${port}`)
  })
})
