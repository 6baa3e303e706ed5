// Chaos: 2,000 handler invocations on a warm neon-ws pool (max 5, 20 at a time) against the real
// PostgreSQL through the local Neon WebSocket gateway, with a seeded chaos proxy between the gateway
// and the server that drops, resets and delays connections and now and then refuses new ones
// (../support/chaos-proxy.ts; LAZYDB_CHAOS_SEED replays a seed). Reads, single inserts,
// transaction() with two inserts and batch() of two inserts, each insert with a unique id. What lazydb
// promises under faults ("no hang, no leak, no loss"): every call settles, every rejection is a
// LazyDbError, no acknowledged write is missing, no transaction or batch is half applied, a write
// rejected as "did not run" left no row, no backend is left idle in transaction, and after
// disconnect() no server connection is left.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { handler, LazyDbError, Registry } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import { prng, startChaosProxy, type ChaosProxy, type ChaosRates } from '../support/chaos-proxy.js'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { PG_HOST, PG_PORT, PG_URL, pgUrlFor, requirePostgres, waitForConnectionCount } from '../support/postgres.js'

const pgUp = await requirePostgres()
const APP = `lazydb-chaos-${process.pid}`
const TABLE = `lazydb_chaos_${process.pid}`
const INVOCATIONS = 2000
const CONCURRENCY = 20
const POOL_MAX = 5
/** Every invocation must have settled by then, counted from the first one. */
const DEADLINE_MS = 45_000
/** Nothing settled for this long (retries give up after 5 s): the pending calls are hung. */
const STALL_MS = 10_000
const DISCONNECT_DEADLINE_MS = 10_000

// Tuned so most invocations succeed while dozens of connections die: a run forwards ~10⁴ chunks.
const RATES: ChaosRates = {
  drop: 0.002,
  reset: 0.002,
  delay: 0.03,
  delayMs: [2, 50],
  refuse: 0.05,
  refuseMs: [20, 200],
  kill: 0.1,
  tickMs: 100,
}

type Kind = 'read' | 'insert' | 'transaction' | 'batch'
interface Outcome {
  kind: Kind
  state: 'pending' | 'ok' | 'rejected'
  error?: unknown
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** 'settled' once `promise` settles, 'pending' if it has not after `ms`: a hang fails fast. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<'settled' | 'pending'> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<'pending'>((resolve) => (timer = setTimeout(resolve, ms, 'pending')))
  const settled = promise.then(
    () => 'settled' as const,
    () => 'settled' as const,
  )
  try {
    return await Promise.race([settled, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** The ids an invocation writes: two per invocation, whatever its kind. */
const idsOf = (i: number): [number, number] => [2 * i + 1, 2 * i + 2]
const INSERT = `insert into ${TABLE} (id, invocation) values ($1, $2)`

describe.skipIf(!pgUp)('chaos between the Neon WebSocket gateway and PostgreSQL', () => {
  let proxy: ChaosProxy
  let gateway: NeonWsGateway
  let registry: Registry
  let admin: pg.Client

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 })
    admin.on('error', () => {})
    await admin.connect()
    await admin.query(`drop table if exists ${TABLE}`)
    await admin.query(`create table ${TABLE} (id bigint primary key, invocation int not null)`)
    proxy = await startChaosProxy({ target: { host: PG_HOST, port: PG_PORT }, rates: RATES })
    gateway = await startNeonWsGateway({ target: { host: '127.0.0.1', port: proxy.port } })
    const neonUrl = pgUrlFor('ep-lazydb-test.neon.tech', { password: 'not-checked', applicationName: APP })
    const url = `${neonUrl}&transport=ws`
    const socket = { wsProxy: gateway.wsProxy, useSecureWebSocket: false, pipelineConnect: false as const }
    registry = new Registry({
      database: neon(url, { ...socket, max: POOL_MAX, transport: 'ws' }),
      platform: 'node',
      warn: false,
    })
  })

  afterAll(async () => {
    // Whatever hung must not hold the run: each step gets a deadline.
    proxy?.calm()
    if (registry !== undefined) await settledWithin(registry.disconnect({ force: true }), 3000)
    if (gateway !== undefined) await settledWithin(gateway.close(), 3000)
    if (proxy !== undefined) await settledWithin(proxy.close(), 3000)
    if (admin !== undefined) {
      await settledWithin(admin.query(`drop table if exists ${TABLE}`), 3000)
      await settledWithin(admin.end(), 3000)
    }
  })

  const title = '2,000 invocations under faults: all settle, only LazyDbErrors, no lost or half write, none left open'
  it(title, { timeout: 120_000 }, async () => {
    console.log(`[chaos] seed ${proxy.seed} (replay: LAZYDB_CHAOS_SEED=${proxy.seed})`)
    const mix = prng(proxy.seed ^ 0x5eed)
    const kinds: Kind[] = Array.from({ length: INVOCATIONS }, () => {
      const r = mix()
      return r < 0.3 ? 'read' : r < 0.55 ? 'insert' : r < 0.8 ? 'transaction' : 'batch'
    })

    const invoke = handler(registry, async (i: number, kind: Kind) => {
      const db = registry.database
      const [a, b] = idsOf(i)
      switch (kind) {
        case 'read':
          return (await db.query(`select count(*)::int as n from ${TABLE} where id <= $1`, [a])).rows[0]
        case 'insert':
          return db.query(INSERT, [a, i])
        case 'transaction':
          return db.transaction(async (tx) => {
            await tx.query(INSERT, [a, i])
            await tx.query(INSERT, [b, i])
          })
        case 'batch':
          return db.batch([
            { text: INSERT, params: [a, i] },
            { text: INSERT, params: [b, i] },
          ])
      }
    })

    const outcomes: Outcome[] = []
    let next = 0
    let stop = false
    const started = performance.now()
    let lastSettledAt = started
    async function worker(): Promise<void> {
      while (!stop && next < INVOCATIONS) {
        const i = next++
        const outcome: Outcome = { kind: kinds[i]!, state: 'pending' }
        outcomes[i] = outcome
        try {
          await invoke(i, outcome.kind)
          outcome.state = 'ok'
        } catch (error) {
          outcome.state = 'rejected'
          outcome.error = error
        }
        lastSettledAt = performance.now()
      }
    }
    // Waits for every invocation, up to the global deadline; a run in which nothing has settled for
    // STALL_MS is hung already (a healthy call settles within the retry budget), so it ends there.
    const everyWorker = Promise.all(Array.from({ length: CONCURRENCY }, worker))
    let finished: 'all settled' | 'deadline' | 'stalled'
    for (;;) {
      if ((await settledWithin(everyWorker, 250)) === 'settled') finished = 'all settled'
      else if (performance.now() - started > DEADLINE_MS) finished = 'deadline'
      else if (performance.now() - lastSettledAt > STALL_MS) finished = 'stalled'
      else continue
      break
    }
    stop = true
    const elapsedS = (performance.now() - started) / 1000

    // The faults end here; what is measured next is what lazydb left behind.
    proxy.calm()
    const faults = { ...proxy.faults }
    const pending = outcomes.filter((o) => o.state === 'pending').length
    const notStarted = INVOCATIONS - outcomes.length
    const ok = outcomes.filter((o) => o.state === 'ok').length
    const codes = new Map<string, number>()
    const samples = new Map<string, string>()
    const foreign: string[] = []
    for (const o of outcomes) {
      if (o.state !== 'rejected') continue
      const e = o.error
      const key = !(e instanceof LazyDbError)
        ? `not LazyDbError: ${(e as Error)?.name}`
        : e.sqlState === undefined
          ? e.code
          : `${e.code}/${e.sqlState}`
      codes.set(key, (codes.get(key) ?? 0) + 1)
      if (!samples.has(key)) samples.set(key, `${o.kind}: ${(e as Error)?.message}`)
      if (!(e instanceof LazyDbError)) foreign.push(`${o.kind}: ${String((e as Error)?.stack ?? e)}`)
    }

    // Left idle in a transaction while the pool is still open (no invocation running any more).
    const idleInTransaction = async () => {
      const sql = `select count(*)::int as n from pg_stat_activity
                   where application_name = $1 and state like 'idle in transaction%'`
      return (await admin.query<{ n: number }>(sql, [APP])).rows[0]!.n
    }
    let idleInTxBefore = await idleInTransaction()
    for (let i = 0; i < 20 && idleInTxBefore > 0; i++) {
      await sleep(100)
      idleInTxBefore = await idleInTransaction()
    }

    let disconnectError: unknown
    const disconnected = await settledWithin(
      registry.disconnect().catch((error: unknown) => void (disconnectError = error)),
      DISCONNECT_DEADLINE_MS,
    )
    const idleInTxAfter = await idleInTransaction()
    const connectionsLeft = await waitForConnectionCount(0, APP, 5000)

    // An independent look at the table.
    const rows = (await admin.query<{ id: string }>(`select id from ${TABLE}`)).rows
    const present = new Set(rows.map((r) => Number(r.id)))
    const lost: string[] = []
    const half: string[] = []
    const ranThoughNotRun: string[] = []
    outcomes.forEach((o, i) => {
      if (o.kind === 'read') return
      const [a, b] = idsOf(i)
      const written = o.kind === 'insert' ? [a] : [a, b]
      const found = written.filter((id) => present.has(id)).length
      if (o.kind !== 'insert' && found === 1) half.push(`#${i} ${o.kind} (${o.state})`)
      if (o.state === 'ok' && found < written.length) lost.push(`#${i} ${o.kind}: ${found}/${written.length} rows`)
      if (o.state === 'rejected' && o.error instanceof LazyDbError && o.error.mayHaveRun === false && found > 0) {
        ranThoughNotRun.push(`#${i} ${o.kind} ${o.error.code}: ${found} rows`)
      }
    })

    const histogram =
      [...codes]
        .sort((x, y) => y[1] - x[1])
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none'
    const rejected = outcomes.length - ok - pending
    const disconnectOutcome =
      disconnectError === undefined ? disconnected : `rejected (${(disconnectError as Error).message})`
    console.log(
      [
        `[chaos] seed ${proxy.seed}: ${INVOCATIONS} invocations in ${elapsedS.toFixed(1)} s (${finished})`,
        `ok ${ok}, rejected ${rejected} [${histogram}], pending ${pending}, never started ${notStarted}`,
        `faults drop ${faults.drop}, reset ${faults.reset}, delay ${faults.delay}, refuse ${faults.refuse}`,
        `acked writes lost ${lost.length}, half transactions/batches ${half.length}`,
        `"did not run" yet rows ${ranThoughNotRun.length}`,
        `idle in transaction ${idleInTxBefore} before disconnect, ${idleInTxAfter} after`,
        `disconnect ${disconnectOutcome}, server connections left ${connectionsLeft}`,
        `stats ${JSON.stringify(registry.stats().databases.default)}`,
      ].join('; '),
    )
    const stuck = outcomes.flatMap((o, i) => (o.state === 'pending' ? [`#${i} ${o.kind}`] : []))
    const lastAt = ((lastSettledAt - started) / 1000).toFixed(1)
    if (stuck.length > 0) console.log(`[chaos]   last settlement at ${lastAt} s; pending: ${stuck.join(', ')}`)
    for (const [key, sample] of samples) console.log(`[chaos]   first ${key}: ${sample}`)
    const examples = [...foreign, ...lost, ...half, ...ranThoughNotRun]
    for (const line of examples.slice(0, 15)) console.log(`[chaos]   ${line}`)

    // The run really was chaotic, and mostly worked.
    const broken = faults.drop + faults.reset + faults.refuse
    expect.soft(broken, 'connections dropped, reset or refused').toBeGreaterThanOrEqual(20)
    expect.soft(pending, 'invocations still pending at the deadline').toBe(0)
    expect.soft(notStarted, 'invocations never started (workers stuck behind a hung one)').toBe(0)
    expect.soft(foreign, 'rejections that are not LazyDbError').toEqual([])
    expect.soft(lost, 'acknowledged writes missing').toEqual([])
    expect.soft(half, 'transactions/batches half applied').toEqual([])
    expect.soft(ranThoughNotRun, 'writes rejected with mayHaveRun: false that left rows').toEqual([])
    expect.soft(idleInTxBefore, 'backends idle in transaction after every invocation settled').toBe(0)
    expect.soft(idleInTxAfter, 'backends idle in transaction after disconnect()').toBe(0)
    expect.soft(disconnected, 'registry.disconnect() settled').toBe('settled')
    expect.soft(connectionsLeft, 'server connections left after disconnect()').toBe(0)
    expect.soft(ok, 'most invocations succeed').toBeGreaterThan(INVOCATIONS / 2)
  })
})
