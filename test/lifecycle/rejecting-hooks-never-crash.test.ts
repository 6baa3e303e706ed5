// Hooks that are async functions and throw (so they return a rejected promise) must never crash the
// process: lazydb has to handle what a hook returns, not only what it throws. Every hook fires here
// (connect, query, error, warning, retry, close) and the operations settle exactly as they would
// without hooks; no 'unhandledRejection' is seen.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LazyDbError, Registry } from '@lazydb/core'
import '@lazydb/core/libsql'
import { closedPort } from '../support/ports.js'
import { tempDir } from '../support/tmp.js'
import { settledWithin, sleep } from './support.js'

const tmp = tempDir('lazydb-rejecting-hooks-')
afterAll(() => tmp.remove())

type Listener = (...args: unknown[]) => void

describe('hooks returning rejected promises', () => {
  const unhandled: unknown[] = []
  let saved: Listener[] = []
  const capture: Listener = (reason) => void unhandled.push(reason)

  // vitest's own listener would report these as run errors; while this file runs, this test's listener
  // is the only one, so an unhandled rejection fails the assertion below instead of the whole run.
  beforeAll(() => {
    saved = process.listeners('unhandledRejection') as Listener[]
    process.removeAllListeners('unhandledRejection')
    process.on('unhandledRejection', capture)
  })
  afterAll(() => {
    process.off('unhandledRejection', capture)
    for (const listener of saved) process.on('unhandledRejection', listener)
  })

  it('every hook fires, operations settle as without hooks, and no rejection goes unhandled', async () => {
    const calls: Record<string, number> = { connect: 0, close: 0, query: 0, retry: 0, warning: 0, error: 0 }
    const failing = (name: string) => async () => {
      calls[name]!++
      throw new Error(`async hook on.${name} failed`)
    }
    const port = await closedPort()
    const registry = new Registry({
      database: `file:${tmp.file('hooks.db')}`,
      extra: { remote: `http://127.0.0.1:${port}` },
      retry: { totalMs: 300, baseDelayMs: 20, maxDelayMs: 50 },
      platform: 'node',
      on: {
        connect: failing('connect'),
        close: failing('close'),
        query: failing('query'),
        retry: failing('retry'),
        warning: failing('warning'),
        error: failing('error'),
      },
    })

    // Outside handler() and without connect(): NOT_CONNECTED warning, a connect, a query.
    const createTable = 'create table notes (id integer primary key, body text)'
    const created = await settledWithin(registry.database.query(createTable), 5000)
    expect(created.status).toBe('fulfilled')
    const inserted = await settledWithin(registry.database.query('insert into notes (body) values (?)', ['hi']), 5000)
    expect(inserted).toMatchObject({ status: 'fulfilled', value: { rowCount: 1 } })

    // A failing query: on.query with the error, and on.error.
    const failed = await settledWithin(registry.database.query('select * from no_such_table'), 5000)
    expect(failed.status).toBe('rejected')
    const queryError = (failed as { reason: unknown }).reason
    expect(queryError).toBeInstanceOf(LazyDbError)
    expect((queryError as LazyDbError).code).toBe('QUERY_FAILED')

    // libSQL over HTTP to a refused port: retries (on.retry), then CONNECT_FAILED.
    const refused = await settledWithin(registry.using('remote').query('select 1'), 5000)
    expect(refused.status).toBe('rejected')
    const refusedError = (refused as { reason: unknown }).reason
    expect(refusedError).toBeInstanceOf(LazyDbError)
    expect((refusedError as LazyDbError).code).toBe('CONNECT_FAILED')

    // Disconnect closes both clients: on.close.
    const disconnected = await settledWithin(registry.disconnect(), 5000)
    expect(disconnected.status).toBe('fulfilled')

    // Unhandled rejections are reported after the microtask queue drains: give them a few turns.
    await sleep(100)

    for (const name of Object.keys(calls)) expect(calls[name], `on.${name} was called`).toBeGreaterThan(0)
    const distinct = [...new Set(unhandled.map((reason) => String((reason as Error)?.message ?? reason)))].sort()
    expect(distinct, 'unhandled rejections').toEqual([])
  })
})
