// Shared by the neon-ws pool lifecycle suites (their per-suite fixture is poolSuite, in pool-suite.ts): a
// neon-ws database over the local WebSocket gateway, outcome tracking that never waits past a deadline, and
// independent checks through a separate `pg` client.
import pg from 'pg'
import ws from 'ws'
import { LazyDbError } from '@lazydb/core'
import { neon, type NeonOptions } from '@lazydb/core/neon'
import type { NeonWsGateway } from '../support/neon-ws-gateway.js'
import { PG_URL, pgUrlFor, waitForConnectionCount } from '../support/postgres.js'

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

let appCounter = 0
/** A unique application_name per test: connection counts ignore every other suite, and no warm client is shared. */
export function uniqueApp(label: string): string {
  return `lazydb-pool-${process.pid}-${label}-${++appCounter}`
}

/** A neon-ws database (a Pool over the local WebSocket gateway) tagged with `app` as its application_name. */
export function neonWs(gateway: NeonWsGateway, app: string, extra: NeonOptions = {}) {
  const url = pgUrlFor('ep-lazydb-test.neon.tech', { password: 'not-checked', applicationName: app })
  return neon(url, {
    wsProxy: gateway.wsProxy,
    useSecureWebSocket: false,
    pipelineConnect: false,
    webSocketConstructor: ws,
    ...extra,
    transport: 'ws',
    driver: 'neon-ws',
  })
}

export type Outcome<T> = { state: 'pending' } | { state: 'resolved'; value: T } | { state: 'rejected'; error: unknown }

/** A promise whose outcome can be read at any moment, without awaiting it. */
export interface Tracked<T> {
  readonly promise: Promise<T>
  outcome: Outcome<T>
}

export function track<T>(promise: Promise<T>): Tracked<T> {
  const tracked: Tracked<T> = { promise, outcome: { state: 'pending' } }
  promise.then(
    (value) => void (tracked.outcome = { state: 'resolved', value }),
    (error: unknown) => void (tracked.outcome = { state: 'rejected', error }),
  )
  return tracked
}

/** Waits until every tracked promise has settled or `ms` have passed, whichever comes first; never throws. */
export async function settleWithin(tracked: readonly Tracked<unknown>[], ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([
    Promise.allSettled(tracked.map((t) => t.promise)),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ])
  clearTimeout(timer)
}

/** The outcome of `promise` after at most `ms`: 'pending' when it had not settled by then. */
export async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<Outcome<T>> {
  const tracked = track(promise)
  await settleWithin([tracked], ms)
  return tracked.outcome
}

/** 'resolved', 'pending', 'rejected CODE' for a LazyDbError, or 'rejected (not a LazyDbError) Name: message'. */
export function describeOutcome(outcome: Outcome<unknown>): string {
  if (outcome.state !== 'rejected') return outcome.state
  const error = outcome.error
  if (error instanceof LazyDbError) return `rejected ${error.code}`
  const e = error as { name?: unknown; message?: unknown } | undefined
  return `rejected (not a LazyDbError) ${String(e?.name)}: ${String(e?.message ?? error)}`
}

export const outcomes = (tracked: readonly Tracked<unknown>[]) => tracked.map((t) => describeOutcome(t.outcome))

/** An admin client for the real PostgreSQL (not through lazydb or the gateway), not connected yet. */
export function unconnectedAdminClient(): pg.Client {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 })
  client.on('error', () => {})
  return client
}

/** An independent admin connection to the real PostgreSQL (not through lazydb or the gateway). */
export async function adminClient(): Promise<pg.Client> {
  const client = unconnectedAdminClient()
  await client.connect()
  return client
}

export interface Backend {
  pid: number
  state: string | null
  query: string
}

/** This application's server backends, as pg_stat_activity shows them. */
export async function backendsOf(admin: pg.Client, app: string): Promise<Backend[]> {
  const { rows } = await admin.query<Backend>(
    'select pid, state, query from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()',
    [app],
  )
  return rows
}

/** Backends of `app` left inside a transaction with no statement running (the poisoned-connection state). */
export async function idleInTransaction(admin: pg.Client, app: string): Promise<Backend[]> {
  return (await backendsOf(admin, app)).filter((b) => b.state?.startsWith('idle in transaction') === true)
}

/**
 * Test teardown for a run that may have hung on current main: terminate whatever `app` still
 * holds on the server (only this test's own connections), so no suite leaks into the next.
 */
export async function terminateLeftovers(admin: pg.Client, app: string): Promise<void> {
  await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [app])
  await waitForConnectionCount(0, app, 2000)
}
