// Hono with lazydb's middleware, in Node (app.fetch, as @hono/node-server and the platforms call
// it). A request-scoped libSQL database shows one scope per request: connects = closes = requests.
import { afterAll, describe, expect, it } from 'vitest'
import { Hono } from 'hono'
import { Registry, type ConnectEvent } from '@lazydb/core'
import { lazydb } from '@lazydb/core/hono'
import { libsql } from '@lazydb/core/libsql'
import { tempDir } from '../support/tmp.js'

const dirs = tempDir('lazydb-hono-')
afterAll(() => dirs.remove())

function app(registry: Registry) {
  const app = new Hono<{ Variables: { registry: Registry } }>()
  app.use(lazydb(registry))
  app.get('/twice', async (c) => {
    const db = c.var.registry.database
    const a = await db.query<{ n: number }>('select 1 as n')
    const b = await db.query<{ n: number }>('select 2 as n')
    return c.json({ same: c.var.registry === registry, n: a.rows[0]!.n + b.rows[0]!.n, connected: db.isConnected })
  })
  app.get('/boom', async (c) => {
    await c.var.registry.database.query('select 1')
    throw new Error('route failed')
  })
  app.onError((error, c) => c.json({ error: error.message }, 500))
  return app
}

describe('Hono middleware', () => {
  it(
    'exposes the registry on c.var and scopes each request ' + '(request scope: connects = closes = requests)',
    async () => {
      const connects: ConnectEvent[] = []
      const registry = new Registry({
        database: libsql(`file:${dirs.file('hono.db')}`, { scope: 'request' }),
        on: { connect: (e) => connects.push(e) },
      })
      const hono = app(registry)
      for (let i = 0; i < 5; i++) {
        const res = await hono.fetch(new Request('http://local/twice'))
        expect(await res.json()).toEqual({ same: true, n: 3, connected: true })
      }
      // 15 concurrent requests: each gets its own client, shared by its two queries.
      const concurrent = await Promise.all(
        Array.from({ length: 15 }, () => hono.fetch(new Request('http://local/twice'))),
      )
      expect(concurrent.map((r) => r.status)).toEqual(Array(15).fill(200))
      const errored = await hono.fetch(new Request('http://local/boom'))
      expect(errored.status).toBe(500)
      const stats = registry.stats()
      expect(stats.invocations.total).toBe(21)
      expect(stats.databases.default).toMatchObject({ scope: 'request', connects: 21, closes: 21, queries: 41 })
      expect(connects).toHaveLength(21)
      expect(stats.platform).toBe('node')
      expect(registry.database.isConnected).toBe(false) // nothing outlives its request
    },
  )

  it('hands cleanup to executionCtx.waitUntil where the platform gives one (Workers, Vercel Edge)', async () => {
    const registry = new Registry({ database: libsql(`file:${dirs.file('hono-ctx.db')}`, { scope: 'request' }) })
    const hono = app(registry)
    const pending: Promise<unknown>[] = []
    const ctx = { waitUntil: (p: Promise<unknown>) => void pending.push(p), passThroughOnException() {}, props: {} }
    const res = await hono.fetch(new Request('http://local/twice'), {}, ctx)
    expect(res.status).toBe(200)
    expect(pending).toHaveLength(1)
    await Promise.all(pending)
    expect(registry.stats().databases.default).toMatchObject({ connects: 1, closes: 1 })
  })

  it('keeps a warm database warm across requests', async () => {
    const registry = new Registry({ database: `file:${dirs.file('hono-warm.db')}` })
    const hono = app(registry)
    for (let i = 0; i < 10; i++) expect((await hono.fetch(new Request('http://local/twice'))).status).toBe(200)
    expect(registry.stats().databases.default).toMatchObject({ scope: 'warm', connects: 1, closes: 0 })
    await registry.disconnect()
  })
})
