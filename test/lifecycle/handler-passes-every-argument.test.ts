// handler() returns a function with fn's signature: every argument reaches fn (not only the first three),
// with a fixed registry and with a registry factory (which gets them all too), and with more than three
// fn still runs in its invocation's request scope (one client for the invocation, closed when it ends).
import { afterAll, describe, expect, it } from 'vitest'
import { handler, Registry } from '@lazydb/core'
import '@lazydb/core/libsql'
import { tempDir } from '../support/tmp.js'
import { within } from './support.js'

const tmp = tempDir('lazydb-arguments-')
afterAll(() => tmp.remove())

describe('handler() arguments', () => {
  const registry = new Registry({ database: `file:${tmp.file('arguments.db')}`, platform: 'node', warn: false })
  afterAll(() => registry.disconnect({ force: true }))

  it('passes all five arguments to fn with a registry', async () => {
    const fn = handler(registry, (...args: number[]) => args)
    expect(await within(fn(1, 2, 3, 4, 5), 5000)).toEqual([1, 2, 3, 4, 5])
  })

  it('passes all five arguments to fn and to the factory with a registry factory', async () => {
    const seenByFactory: unknown[][] = []
    const fn = handler(
      (...args: number[]) => {
        seenByFactory.push(args)
        return registry
      },
      (...args: number[]) => args,
    )
    expect(await within(fn(1, 2, 3, 4, 5), 5000)).toEqual([1, 2, 3, 4, 5])
    expect(seenByFactory).toEqual([[1, 2, 3, 4, 5]])
  })

  it('with five arguments, runs fn in the invocation: one request-scoped client, closed when it ends', async () => {
    const scoped = new Registry({
      database: { url: `file:${tmp.file('arguments-request.db')}`, scope: 'request' },
      platform: 'node',
      warn: false,
    })
    const fn = handler(scoped, async (...args: number[]) => {
      await scoped.database.query('select 1')
      await scoped.database.query('select 2')
      return args
    })
    expect(await within(fn(1, 2, 3, 4, 5), 5000)).toEqual([1, 2, 3, 4, 5])
    expect(scoped.stats().databases.default).toMatchObject({ scope: 'request', connects: 1, closes: 1, queries: 2 })
  })
})
