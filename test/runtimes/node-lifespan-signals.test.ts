// lifespan() and the process: a real Node server (test/runtimes/fixtures/lifespan-server.ts, set up as
// functions/node is, bundled the same way) in a child process, on an embedded libSQL file and on the real
// PostgreSQL (neon-ws through the local gateway). 500 requests in flight when SIGTERM arrives: each completes
// (200, its row written), a connection opened after the signal is refused, the registry disconnects (no server
// backend left, none idle in a transaction) and the process exits with code 0 by itself. A second SIGTERM
// during the drain forces: the process exits at once with code 1, the stuck requests see their connection
// closed, and their open transactions leave no row and no backend behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { request as httpRequest } from 'node:http'
import { rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type pg from 'pg'
import { createClient } from '@libsql/client'
import { buildFunction } from './helpers.js'
import { tempDir } from '../support/tmp.js'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { pgUrlFor, requirePostgres } from '../support/postgres.js'
import { adminClient, backendsOf, idleInTransaction, terminateLeftovers } from '../lifecycle/pool-support.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const outDir = `${root}functions/dist/test-lifespan-${process.pid}`
const bundle = `${outDir}/server.mjs`
const dirs = tempDir('lazydb-lifespan-signals-')
const pgUp = await requirePostgres()
const TABLE = `lazydb_lifespan_signals_${process.pid}`
let gateway: NeonWsGateway | undefined
let admin: pg.Client | undefined
const apps: string[] = []

beforeAll(async () => {
  await buildFunction('node', { entry: 'test/runtimes/fixtures/lifespan-server.ts', out: bundle, metafilePath: false })
  if (pgUp) {
    gateway = await startNeonWsGateway()
    admin = await adminClient()
    await admin.query(`create table if not exists ${TABLE} (id text not null)`)
  }
})
afterAll(async () => {
  rmSync(outDir, { recursive: true, force: true })
  dirs.remove()
  for (const app of apps) await terminateLeftovers(admin!, app)
  await admin?.query(`drop table if exists ${TABLE}`)
  await admin?.end()
  await gateway?.close()
})

/** Where the child keeps its rows, and what a server sees of it afterwards. */
interface Backend {
  available: boolean
  driver: string
  /** The child's environment for a run named `label`. */
  env(label: string): Record<string, string>
  /** The ids the run with `label` wrote (its /hit ids, and the /stuck transactions' rows had they committed). */
  ids(label: string): Promise<string[]>
  /** The run's server backends idle in a transaction now: the stuck requests' (none for an embedded database). */
  openTransactions(label: string): Promise<number>
  /** How many of the 20 stuck requests hold a transaction open. */
  stuckOpen: number
  /** Server backends of the run (total, idle in a transaction): none for an embedded database. */
  leftovers(label: string): Promise<[number, number]>
}

const libsqlFile: Backend = {
  available: true,
  driver: 'libsql',
  env: (label) => ({ DATABASE_URL: `file:${dirs.file(`${label}.db`)}`, TABLE: 'hits' }),
  async ids(label) {
    const db = createClient({ url: `file:${dirs.file(`${label}.db`)}` })
    try {
      return (await db.execute('select id from hits')).rows.map((r) => String(r.id))
    } finally {
      db.close()
    }
  },
  openTransactions: async () => 0,
  stuckOpen: 0,
  leftovers: async () => [0, 0],
}

const appOf = (label: string) => `lazydb-lifespan-${process.pid}-${label}`
const postgres: Backend = {
  available: pgUp,
  driver: 'neon-ws',
  env(label) {
    apps.push(appOf(label))
    const url = pgUrlFor('ep-lazydb-test.neon.tech', { password: 'not-checked', applicationName: appOf(label) })
    return { DATABASE_URL: url, NEON_WS_PROXY: gateway!.wsProxy, TABLE }
  },
  async ids(label) {
    const { rows } = await admin!.query<{ id: string }>(`select id from ${TABLE} where id like $1`, [`%${label}-%`])
    return rows.map((r) => r.id)
  },
  openTransactions: async (label) => (await idleInTransaction(admin!, appOf(label))).length,
  stuckOpen: 20,
  async leftovers(label) {
    const app = appOf(label)
    // A backend exits a moment after its client has gone: polled briefly, within a deadline.
    for (let tries = 0; ; tries++) {
      const total = (await backendsOf(admin!, app)).length
      if (total === 0 || tries === 40) return [total, (await idleInTransaction(admin!, app)).length]
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  },
}

interface Child {
  process: ChildProcess
  port: number
  /** Resolves with the first printed event of this kind. */
  event(kind: string): Promise<Record<string, unknown>>
  exited: Promise<number | null>
}

async function start(env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, [bundle], {
    cwd: dirs.dir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const events: Record<string, unknown>[] = []
  const waiters: (() => void)[] = []
  let buffered = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk
    const lines = buffered.split('\n')
    buffered = lines.pop()!
    for (const line of lines) events.push(JSON.parse(line) as Record<string, unknown>)
    for (const wake of waiters.splice(0)) wake()
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const event = async (kind: string) => {
    for (;;) {
      const found = events.find((e) => e.event === kind)
      if (found !== undefined) return found
      await new Promise<void>((resolve) => waiters.push(resolve))
    }
  }
  const listening = await deadline(event('listening'), 10_000, 'the server to listen')
  return { process: child, port: listening.port as number, event, exited }
}

function deadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${what}`)), ms)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

/** One request on its own connection: "200 body", or "failed CODE" when the connection failed or closed. */
function get(port: number, path: string): Promise<string> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => (body += chunk))
      res.on('end', () => resolve(`${res.statusCode} ${body}`))
      res.on('error', (error: NodeJS.ErrnoException) => resolve(`failed ${error.code ?? error.message}`))
    })
    req.on('error', (error: NodeJS.ErrnoException) => resolve(`failed ${error.code ?? error.message}`))
    req.end()
  })
}

describe.each([
  ['libSQL file', libsqlFile],
  ['PostgreSQL (neon-ws)', postgres],
] as const)('a Node server under lifespan on %s, signalled', (name, backend) => {
  const children: ChildProcess[] = []
  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const tag = name.startsWith('lib') ? 'lib' : 'pg'

  it.skipIf(!backend.available)(
    '500 requests in flight at SIGTERM all complete, new connections are refused, exit 0',
    async () => {
      const label = `drain-${tag}`
      const child = await start({ ...backend.env(label), EXPECT_IN_FLIGHT: '500', DRAIN_MS: '20000' })
      children.push(child.process)
      const ids = Array.from({ length: 500 }, (_, i) => `${label}-${i}`)
      const requests = ids.map((id) => get(child.port, `/hit/${id}`))
      await deadline(child.event('in-flight'), 15_000, 'all 500 requests to be in flight')
      child.process.kill('SIGTERM')
      await deadline(child.event('SIGTERM'), 5000, 'the signal')
      const late = await get(child.port, `/hit/${label}-late`)
      expect(late).toMatch(/^failed (ECONNREFUSED|ECONNRESET)$/)
      const outcomes = await deadline(Promise.all(requests), 15_000, 'the requests')
      expect(outcomes).toEqual(ids.map((id) => `200 ${id}`))
      expect(await deadline(child.exited, 10_000, 'the process to exit')).toBe(0)
      const exit = await child.event('exit')
      // Disconnected before exit: the one warm client (a pool on PostgreSQL) connected at start was closed.
      expect(exit).toMatchObject({ code: 0, stats: { driver: backend.driver, connects: 1, closes: 1, errors: 0 } })
      expect((await backend.ids(label)).sort()).toEqual([...ids].sort())
      expect(await backend.leftovers(label)).toEqual([0, 0])
    },
  )

  it.skipIf(!backend.available)('a second SIGTERM while draining forces: exit code 1, nothing left open', async () => {
    const label = `force-${tag}`
    const child = await start({ ...backend.env(label), EXPECT_IN_FLIGHT: '20', DRAIN_MS: '60000' })
    children.push(child.process)
    const stuck = Array.from({ length: 20 }, (_, i) => get(child.port, `/stuck/${label}-${i}`))
    await deadline(child.event('in-flight'), 10_000, 'the twenty requests to be in flight')
    child.process.kill('SIGTERM')
    await deadline(child.event('SIGTERM'), 5000, 'the first signal')
    expect(child.process.exitCode).toBe(null) // draining: the stuck requests hold it, drainMs is a minute
    expect(await backend.openTransactions(label)).toBe(backend.stuckOpen)
    child.process.kill('SIGTERM')
    expect(await deadline(child.exited, 5000, 'the forced exit')).toBe(1)
    const outcomes = await deadline(Promise.all(stuck), 5000, 'the stuck requests')
    for (const outcome of outcomes) expect(outcome).toMatch(/^failed /)
    expect(await child.event('exit')).toMatchObject({ code: 1 })
    expect(await backend.ids(label)).toEqual([]) // the stuck transactions' rows never landed
    expect(await backend.leftovers(label)).toEqual([0, 0])
  })
})
