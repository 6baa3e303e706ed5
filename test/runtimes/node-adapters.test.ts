// The long-running Node adapters over real HTTP (each app listens on port 0): Express (lazydb middleware),
// Fastify (lazydbPlugin) and Hono on @hono/node-server (the Hono middleware), each on an embedded libSQL file
// database scoped to the request. One scope per request shows as connects = closes = requests, with every
// query of a request on its one client: the invocation's async context reaches the route handler, also
// after the request body was parsed. A transaction a route forgot is rolled back when the response ends,
// and nothing warns NOT_CONNECTED, exactly as under handler().
import { afterAll, describe, expect, it } from 'vitest'
import { type AddressInfo, connect } from 'node:net'
import type { Server } from 'node:http'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { serve } from '@hono/node-server'
import { LazyDbError, Registry, type WarningEvent } from '@lazydb/core'
import { lazydb as honoLazydb } from '@lazydb/core/hono'
import { type ClosableServer, lazydb, lazydbPlugin, lifespan } from '@lazydb/core/node'
import { libsql } from '@lazydb/core/libsql'
import { tempDir } from '../support/tmp.js'
import { settledWithin, within } from '../lifecycle/support.js'

const dirs = tempDir('lazydb-node-adapters-')
afterAll(() => dirs.remove())

/** What each app's routes do, whatever the framework: the same checks run against all three. */
interface Routes {
  twice(registry: Registry): Promise<{ n: number; connected: boolean }>
  echo(registry: Registry, body: unknown): Promise<{ body: unknown; n: number }>
  /** Waits for the test's gate, then queries. */
  gate(registry: Registry): Promise<{ n: number }>
  /** Starts a transaction that inserts, then waits (past the response) to insert again; returns meanwhile. */
  forget(registry: Registry, label: string): Promise<{ started: true }>
}

/** The forgotten transactions, and what lets each go on after its response (to find its handle closed). */
const forgotten: { transaction: Promise<unknown>; resume: () => void }[] = []
const routes: Routes = {
  async twice(registry) {
    const db = registry.database
    const a = await db.query<{ n: number }>('select 1 as n')
    const b = await db.query<{ n: number }>('select 2 as n')
    return { n: a.rows[0]!.n + b.rows[0]!.n, connected: db.isConnected }
  },
  async echo(registry, body) {
    const { rows } = await registry.database.query<{ n: number }>('select 40 + 2 as n')
    return { body, n: rows[0]!.n }
  },
  async gate(registry) {
    entered()
    await gate
    const { rows } = await registry.database.query<{ n: number }>('select 7 as n')
    return { n: rows[0]!.n }
  },
  async forget(registry, label) {
    let inserted!: () => void
    const insertDone = new Promise<void>((resolve) => (inserted = resolve))
    let resume!: () => void
    const paused = new Promise<void>((resolve) => (resume = resolve))
    const transaction = registry.database.transaction(async (tx) => {
      await tx.query('insert into marks (label) values (?)', [label])
      inserted()
      await paused // the route returns meanwhile: it forgot the transaction
      await tx.query('insert into marks (label) values (?)', [`${label}-after`])
    })
    transaction.catch(() => undefined)
    forgotten.push({ transaction, resume })
    await insertDone
    return { started: true }
  },
}

interface App {
  origin: string
  close(): Promise<void>
  /** What lifespan is given to stop: the node:http server, or for Fastify the app itself (its close()). */
  server: ClosableServer
}

/** Held by the /gate route until the test opens it: a request in flight when the lifespan closes. */
let gate = Promise.resolve()
let entered: () => void = () => undefined

const listening = (server: Server) =>
  new Promise<string>((resolve) => {
    const ready = () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    server.listening ? ready() : server.once('listening', ready)
  })
const closing = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()))

async function expressApp(registry: Registry): Promise<App> {
  const app = express()
  app.use(lazydb(registry)) // before the body parser: the scope must survive the body being read
  app.use(express.json())
  app.get('/twice', async (_req, res) => void res.json(await routes.twice(registry)))
  app.get('/gate', async (_req, res) => void res.json(await routes.gate(registry)))
  app.post('/echo', async (req, res) => void res.json(await routes.echo(res.locals.registry as Registry, req.body)))
  app.get('/forget/:label', async (req, res) => void res.json(await routes.forget(registry, req.params.label)))
  const server = app.listen(0, '127.0.0.1')
  return { origin: await listening(server), close: () => closing(server), server }
}

async function fastifyApp(registry: Registry): Promise<App> {
  const app = Fastify()
  await app.register(lazydbPlugin, { registry })
  // A body parser of its own, reading the stream's events (which run outside the request's async context):
  // the plugin must put the route handler back into the invocation.
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', (_request, payload, done) => {
    let text = ''
    payload.on('data', (chunk: Buffer) => (text += chunk))
    payload.on('end', () => done(null, JSON.parse(text)))
  })
  app.get('/twice', () => routes.twice(registry))
  app.get('/gate', () => routes.gate(registry))
  app.post('/echo', (request) => routes.echo((request as unknown as { registry: Registry }).registry, request.body))
  app.get<{ Params: { label: string } }>('/forget/:label', (request) => routes.forget(registry, request.params.label))
  const origin = await app.listen({ port: 0, host: '127.0.0.1' })
  return { origin, close: () => app.close(), server: app }
}

async function honoApp(registry: Registry): Promise<App> {
  const app = new Hono<{ Variables: { registry: Registry } }>()
  app.use(honoLazydb(registry))
  app.get('/twice', async (c) => c.json(await routes.twice(c.var.registry)))
  app.get('/gate', async (c) => c.json(await routes.gate(c.var.registry)))
  app.post('/echo', async (c) => c.json(await routes.echo(c.var.registry, await c.req.json())))
  app.get('/forget/:label', async (c) => c.json(await routes.forget(c.var.registry, c.req.param('label'))))
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server
  return { origin: await listening(server), close: () => closing(server), server }
}

/** Each app, and whether it holds the registry connected while it runs (Fastify's plugin does, from ready to close). */
/** Opens a new TCP connection to `origin` and says how it went: 'connected' or the error code. */
function freshConnection(origin: string): Promise<string> {
  const { hostname, port } = new URL(origin)
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname, () => {
      socket.destroy()
      resolve('connected')
    })
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
  })
}

const frameworks = {
  express: { start: expressApp, holds: false },
  fastify: { start: fastifyApp, holds: true },
  'hono on @hono/node-server': { start: honoApp, holds: false },
}

describe.each(Object.entries(frameworks))('%s', (name, { start, holds }) => {
  const setup = async () => {
    const warnings: WarningEvent[] = []
    const registry = new Registry({
      database: libsql(`file:${dirs.file(`${name.split(' ')[0]}.db`)}`, { scope: 'request' }),
      on: { warning: (w) => warnings.push(w) },
    })
    await registry.database.query('create table if not exists marks (label text not null)')
    await registry.disconnect()
    warnings.length = 0
    const app = await start(registry)
    // Measured from here: the table's setup (and Fastify's connect when the app is ready) came before.
    const before = { ...registry.stats().databases.default! }
    return { registry, warnings, before, app }
  }

  it('one scope per request, reaching the route handler (after body parsing too); no NOT_CONNECTED', async () => {
    const { registry, warnings, before, app } = await setup()
    try {
      const get = () => fetch(`${app.origin}/twice`).then(async (r) => ({ status: r.status, body: await r.json() }))
      const post = (i: number) =>
        fetch(`${app.origin}/echo`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ i, pad: 'x'.repeat(70_000) }), // more than one chunk: parsed across events
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as { body: { i: number }; n: number } }))
      const sequential = [await get(), await get()]
      const concurrent = await Promise.all([...Array.from({ length: 8 }, get)])
      const posts = await Promise.all(Array.from({ length: 6 }, (_, i) => post(i)))
      for (const r of [...sequential, ...concurrent])
        expect(r).toEqual({ status: 200, body: { n: 3, connected: true } })
      expect(posts.map((p) => [p.status, p.body.body.i, p.body.n])).toEqual(
        Array.from({ length: 6 }, (_, i) => [200, i, 42]),
      )
      const requests = sequential.length + concurrent.length + posts.length
      const after = registry.stats().databases.default!
      // Each request's queries shared its one client: lost context would give one client per query.
      expect(after.connects - before.connects).toBe(requests)
      expect(after.queries - before.queries).toBe(2 * 10 + 6)
      await expect.poll(() => registry.stats().databases.default!.closes - before.closes).toBe(requests)
      expect(warnings).toEqual([])
      expect(registry.database.isConnected).toBe(holds) // nothing outlives its request but the app's own hold
    } finally {
      await app.close()
    }
  })

  it('rolls back a transaction the route forgot when the response ends', async () => {
    const { registry, warnings, app } = await setup()
    const label = `forgot-${process.pid}-${name.split(' ')[0]}`
    try {
      const res = await fetch(`${app.origin}/forget/${label}`)
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ started: true })
      // The response is out, so the invocation has ended: the transaction's next statement finds it closed.
      const { transaction, resume } = forgotten.at(-1)!
      resume()
      const outcome = await settledWithin(transaction, 3000)
      expect(outcome.status).toBe('rejected')
      const error = (outcome as { reason: unknown }).reason
      expect(error).toBeInstanceOf(LazyDbError)
      expect(error).toMatchObject({ code: 'CLOSED' })
      await registry.connect()
      const { rows } = await registry.database.query('select count(*) as n from marks where label like ?', [
        `${label}%`,
      ])
      expect(rows[0]).toMatchObject({ n: 0 })
      expect(warnings).toEqual([])
    } finally {
      await app.close()
      await registry.disconnect({ force: true })
    }
  })

  it('under lifespan({ server }): a request in flight completes, then the registry is disconnected', async () => {
    const { registry, app } = await setup()
    let open!: () => void
    gate = new Promise<void>((resolve) => (open = resolve))
    const inside = new Promise<void>((resolve) => (entered = resolve))
    try {
      const handle = lifespan(registry, { server: app.server, signals: [], drainMs: 10_000 })
      await within(handle.ready, 5000, 'ready')
      expect(registry.database.isConnected).toBe(true)
      const response = fetch(`${app.origin}/gate`).then(async (r) => `${r.status} ${await r.text()}`)
      await within(inside, 5000, 'the request to reach its route')
      const closing = handle.close()
      expect((await settledWithin(closing, 200)).status).toBe('pending')
      open()
      expect(await within(response, 5000, 'the response')).toBe('200 {"n":7}')
      expect(await within(closing, 5000, 'close')).toEqual({ drained: true })
      expect(registry.database.isConnected).toBe(false) // every hold released: lifespan's and the app's own
      expect(await freshConnection(app.origin)).toBe('ECONNREFUSED')
    } finally {
      open()
      await registry.disconnect({ force: true })
    }
  })
})
