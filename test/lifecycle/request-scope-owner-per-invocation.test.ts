// Which owner request-scoped work gets (InvocationLifecycle's AsyncLocalStorage and openAll): one request
// database among warm ones is enough to tell invocations apart (two at once get two clients); and eager
// (handler's `eager`) under registry.connect() opens the invocation's own client before fn, not the
// registry's.
import { afterAll, describe, expect, it } from 'vitest'
import { handler, Registry } from '@lazydb/core'
import '@lazydb/core/libsql'
import { tempDir } from '../support/tmp.js'
import { within } from './support.js'

const tmp = tempDir('lazydb-request-owner-')
afterAll(() => tmp.remove())
let n = 0
const fileUrl = () => `file:${tmp.file(`owner-${++n}.db`)}`

describe('request scope', () => {
  it('in a registry that also has a warm database, gives two invocations at once two clients', async () => {
    const registry = new Registry({
      database: { url: fileUrl(), scope: 'request' },
      extra: { cache: fileUrl() },
      platform: 'node',
      warn: false,
    })
    expect(registry.stats().databases).toMatchObject({ default: { scope: 'request' }, cache: { scope: 'warm' } })
    let arrived = 0
    let bothIn!: () => void
    const together = new Promise<void>((resolve) => (bothIn = resolve))
    const invoke = handler(registry, async () => {
      await registry.database.query('select 1')
      if (++arrived === 2) bothIn()
      await together
      await registry.database.query('select 2')
    })
    try {
      await within(Promise.all([invoke(), invoke()]), 3000, 'two invocations at once')
      expect(registry.stats().databases.default).toMatchObject({ connects: 2, closes: 2, queries: 4 })
    } finally {
      await registry.disconnect({ force: true })
    }
  })

  it('eager under registry.connect(): the invocation connects its own client before fn runs', async () => {
    const registry = new Registry({ database: { url: fileUrl(), scope: 'request' }, platform: 'node', warn: false })
    const stats = () => registry.stats().databases.default!
    await registry.connect()
    try {
      expect(stats()).toMatchObject({ connects: 1 })
      const invoke = handler(
        registry,
        () => ({ connected: registry.database.isConnected, connects: stats().connects }),
        {
          eager: true,
        },
      )
      expect(await within(invoke(), 3000, 'the eager invocation')).toEqual({ connected: true, connects: 2 })
      // The invocation's client closed with it; the registry's own is still open.
      expect(stats()).toMatchObject({ connects: 2, closes: 1 })
      expect(registry.database.isConnected).toBe(true)
    } finally {
      await registry.disconnect()
    }
    expect(stats()).toMatchObject({ connects: 2, closes: 2 })
  })
})
