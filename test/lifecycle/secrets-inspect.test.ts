// Pins down: nothing lazydb hands out prints a secret, however it is printed (util.inspect deep with
// showHidden and getters, default inspect, console.log's %o, JSON.stringify). Per driver (libSQL
// file with encryptionKey, libSQL over HTTP with ?authToken=, neon-http with a URL password and
// authToken functions, neon-ws, PlanetScale) this covers the registry, registry.database,
// registry.extra.*, a using(undefined, { schema }) view, the `tx` inside transaction(fn),
// registry.stats(), every error (failed connect, failed query, bad config) with its whole cause
// chain, and every hook event. What client() returns is the driver's own object and is not checked.
import { writeFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import ws from 'ws'
import { LazyDbError, Registry, type Hooks } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { neon, type NeonOptions } from '@lazydb/core/neon'
import { planetscale } from '@lazydb/core/planetscale'
import { startHranaGateway, type HranaGateway } from '../support/hrana-gateway.js'
import { MARIADB_CREDENTIALS, ensureMariadbUser, requireMariadb, setupMariadb } from '../support/mariadb.js'
import { startNeonHttpGateway, type NeonHttpGateway } from '../support/neon-http-gateway.js'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { startPlanetscaleGateway, type PlanetscaleGateway } from '../support/planetscale-gateway.js'
import { closedPort } from '../support/ports.js'
import { requirePostgres } from '../support/postgres.js'
import { tempDir } from '../support/tmp.js'
import {
  QUICK_RETRY,
  SECRET,
  errorRenderings,
  expectNoLeaks,
  leaks,
  recordingHooks,
  rejectionOf,
  renderings,
  secret,
  settledWithin,
  thrownBy,
  type HookEvent,
  type Secret,
} from './secrets-support.js'

const pgUp = await requirePostgres()
const mariaUp = await requireMariadb()

const PID = process.pid
const MISSING_TABLE = `lazydb_secrets_missing_${PID}`
const PS_USER = 'lazydb_secrets'

/** What one driver's scenario builds; everything is used for real before it is printed. */
interface Built {
  registry: Registry
  /** A schema for using(undefined, { schema }); undefined on libSQL, which has none. */
  schema?: string
  /** A registry whose default database cannot connect. */
  broken: Registry
  /** Throws CONFIG_INVALID from a config holding the secrets. */
  badConfig: () => unknown
  cleanup: () => Promise<void>
}

interface Scenario {
  label: string
  enabled: boolean
  secrets: () => Secret[]
  build: (on: Hooks) => Promise<Built>
}

const tmp = tempDir('lazydb-secrets-inspect-')
afterAll(() => tmp.remove())

const libsqlFile: Scenario = {
  label: 'libSQL file (encryptionKey)',
  enabled: true,
  secrets: () => [secret('encryptionKey')],
  async build(on) {
    const encryptionKey = SECRET.encryptionKey
    const registry = new Registry({
      database: libsql(`file:${tmp.file('main.db')}`, { encryptionKey }),
      extra: { second: { url: `file:${tmp.file('second.db')}`, encryptionKey } },
      on,
      retry: QUICK_RETRY,
    })
    // A regular file where the database's directory should be: creating the directory fails.
    writeFileSync(tmp.file('blocker'), 'not a directory')
    const broken = new Registry({
      database: libsql(`file:${tmp.file('blocker')}/db.sqlite`, { encryptionKey }),
      on,
      retry: QUICK_RETRY,
    })
    return {
      registry,
      broken,
      badConfig: () =>
        new Registry({
          database: libsql(`file:${tmp.file('bad.db')}`, { encryptionKey, intMode: 'float' as 'number' }),
        }),
      cleanup: async () => {},
    }
  },
}

let hrana: HranaGateway | undefined
const libsqlHttp: Scenario = {
  label: 'libSQL over HTTP (?authToken=)',
  enabled: true,
  secrets: () => [secret('urlToken'), secret('password')],
  async build(on) {
    hrana = await startHranaGateway({ file: tmp.file('hrana.db'), authToken: SECRET.urlToken })
    const dead = await closedPort()
    const registry = new Registry({
      database: `${hrana.url}?authToken=${SECRET.urlToken}`,
      extra: { second: libsql(hrana.url, { authToken: SECRET.urlToken }) },
      on,
      retry: QUICK_RETRY,
    })
    const broken = new Registry({
      database: `http://127.0.0.1:${dead}?authToken=${SECRET.urlToken}`,
      on,
      retry: QUICK_RETRY,
    })
    return {
      registry,
      broken,
      // libSQL URLs take no user info: the check must not quote the URL it rejects.
      badConfig: () =>
        new Registry({
          database: `http://user:${SECRET.password}@127.0.0.1:${dead}?authToken=${SECRET.urlToken}`,
        }),
      cleanup: async () => void (await hrana?.close()),
    }
  },
}

let neonHttpGw: NeonHttpGateway | undefined
let neonWsGw: NeonWsGateway | undefined
const neonGateways = async () => {
  neonHttpGw ??= await startNeonHttpGateway()
  neonWsGw ??= await startNeonWsGateway()
  return { http: neonHttpGw, ws: neonWsGw }
}
const neonUrl = (app: string, transport?: 'ws') =>
  `postgres://postgres:${SECRET.password}@ep-secrets.neon.tech/test` +
  `?application_name=${app}-${PID}${transport ? '&transport=ws' : ''}`
const socketOptions = (gw: NeonWsGateway): NeonOptions => ({
  wsProxy: gw.wsProxy,
  useSecureWebSocket: false,
  pipelineConnect: false,
  webSocketConstructor: ws,
})

const neonHttp: Scenario = {
  label: 'neon-http (URL password, authToken functions)',
  enabled: pgUp,
  secrets: () => [secret('password'), secret('asyncFnToken'), secret('syncFnToken')],
  async build(on) {
    const gw = await neonGateways()
    const dead = await closedPort()
    const url = neonUrl('lazydb-secrets-http')
    const fetchEndpoint = gw.http.endpoint
    const registry = new Registry({
      database: neon(url, { fetchEndpoint, authToken: async () => SECRET.asyncFnToken, ...socketOptions(gw.ws) }),
      extra: { second: neon(url, { fetchEndpoint, authToken: () => SECRET.syncFnToken, ...socketOptions(gw.ws) }) },
      on,
      retry: QUICK_RETRY,
    })
    const broken = new Registry({
      database: neon(url, {
        fetchEndpoint: `http://127.0.0.1:${dead}/sql`,
        authToken: async () => SECRET.asyncFnToken,
      }),
      on,
      retry: QUICK_RETRY,
    })
    return {
      registry,
      schema: 'public',
      broken,
      badConfig: () =>
        new Registry({
          database: neon(url, { authToken: () => SECRET.syncFnToken, fetchEndpoint: 42 as unknown as string }),
        }),
      cleanup: async () => {},
    }
  },
}

const neonWs: Scenario = {
  label: 'neon-ws (URL password)',
  enabled: pgUp,
  secrets: () => [secret('password')],
  async build(on) {
    const gw = await neonGateways()
    const dead = await closedPort()
    const registry = new Registry({
      database: neon(neonUrl('lazydb-secrets-ws'), { driver: 'neon-ws', max: 2, ...socketOptions(gw.ws) }),
      extra: { second: { url: neonUrl('lazydb-secrets-ws2', 'ws'), max: 2, ...socketOptions(gw.ws) } },
      on,
      retry: QUICK_RETRY,
    })
    const broken = new Registry({
      database: neon(neonUrl('lazydb-secrets-ws-dead', 'ws'), {
        ...socketOptions(gw.ws),
        transport: 'ws',
        wsProxy: `127.0.0.1:${dead}/v1`,
      }),
      on,
      retry: QUICK_RETRY,
    })
    return {
      registry,
      schema: 'public',
      broken,
      badConfig: () =>
        new Registry({
          database: { url: neonUrl('lazydb-secrets-ws-bad', 'ws'), scope: 'sometimes' as 'warm' },
        }),
      cleanup: async () => {},
    }
  },
}

let psGw: PlanetscaleGateway | undefined
const planetscaleScenario: Scenario = {
  label: 'PlanetScale (URL password)',
  enabled: mariaUp,
  secrets: () => [
    secret('password'),
    {
      name: 'Basic credentials (base64 user:password)',
      value: Buffer.from(`${PS_USER}:${SECRET.password}`).toString('base64'),
    },
  ],
  async build(on) {
    await setupMariadb()
    await ensureMariadbUser(PS_USER, SECRET.password)
    const mysql = { ...MARIADB_CREDENTIALS, user: PS_USER, password: SECRET.password }
    psGw = await startPlanetscaleGateway({ mysql })
    const dead = await closedPort()
    const registry = new Registry({
      database: planetscale(psGw.url(PS_USER, SECRET.password)),
      extra: { second: { url: psGw.url(PS_USER, SECRET.password), driver: 'planetscale' } },
      on,
      retry: QUICK_RETRY,
    })
    const broken = new Registry({
      database: planetscale(`http://${PS_USER}:${SECRET.password}@127.0.0.1:${dead}`),
      on,
      retry: QUICK_RETRY,
    })
    return {
      registry,
      schema: 'lazydb_test_other',
      broken,
      badConfig: () =>
        new Registry({
          database: planetscale(`mysql://${PS_USER}:${SECRET.password}@db.example`, {
            fetch: 'no' as unknown as typeof fetch,
          }),
        }),
      cleanup: async () => void (await psGw?.close()),
    }
  },
}

const SCENARIOS = [libsqlFile, libsqlHttp, neonHttp, neonWs, planetscaleScenario]

afterAll(async () => {
  await Promise.all([neonHttpGw?.close(), neonWsGw?.close()])
})

for (const scenario of SCENARIOS) {
  describe.skipIf(!scenario.enabled)(scenario.label, () => {
    const events: HookEvent[] = []
    let built: Built
    let secrets: Secret[]
    let txRenderings: Array<[string, string]> = []
    let viewTxRenderings: Array<[string, string]> = []
    const errors: Array<[label: string, error: unknown]> = []

    beforeAll(async () => {
      secrets = scenario.secrets()
      built = await scenario.build(recordingHooks(events))
      const { registry, schema, broken } = built
      const within = <T>(p: Promise<T>, what: string) => settledWithin(p, 8000, what)
      await within(registry.database.query('select 1'), 'query on registry.database')
      for (const db of Object.values(registry.extra)) await within(db.query('select 1'), `query on ${db.name}`)
      await within(
        registry.database.transaction(async (tx) => {
          await tx.query('select 1')
          txRenderings = renderings(tx)
        }),
        'transaction',
      )
      if (schema !== undefined) {
        const view = registry.using(undefined, { schema })
        await within(view.query('select 1'), 'query on a schema view')
        await within(
          view.transaction(async (tx) => {
            await tx.query('select 1')
            viewTxRenderings = renderings(tx)
          }),
          'transaction on a schema view',
        )
      }
      const failedQuery = registry.database.query(`select * from ${MISSING_TABLE}`)
      errors.push(['failed query', await rejectionOf(failedQuery, 8000, 'failed query')])
      errors.push([
        'failed query in a transaction',
        await rejectionOf(
          registry.database.transaction(async (tx) => {
            await tx.query(`select * from ${MISSING_TABLE}`)
          }),
          8000,
          'failed query in a transaction',
        ),
      ])
      errors.push(['failed connect', await rejectionOf(broken.database.query('select 1'), 8000, 'failed connect')])
      // registry.connect() opens sockets and files; over HTTP it only creates the client, so it may succeed.
      const connecting = broken.connect().then(
        () => undefined,
        (error: unknown) => error,
      )
      const connectFailure = await within(connecting, 'registry.connect()')
      if (connectFailure !== undefined) errors.push(['failed registry.connect()', connectFailure])
      errors.push(['bad config', thrownBy(built.badConfig)])
      // Close and reconnect lazily, so close events are among those recorded and the registry is live again.
      await within(registry.disconnect(), 'disconnect')
      await within(registry.database.query('select 1'), 'query after reconnect')
    }, 30_000)

    afterAll(async () => {
      await Promise.all([built?.registry.disconnect({ force: true }), built?.broken.disconnect({ force: true })])
      await built?.cleanup()
    })

    it('the registry prints no secret', () => {
      expectNoLeaks(leaks('registry', renderings(built.registry), secrets))
    })

    it('registry.database prints no secret', () => {
      expectNoLeaks(leaks('registry.database', renderings(built.registry.database), secrets))
    })

    it('registry.extra and each extra database print no secret', () => {
      const found = leaks('registry.extra', renderings(built.registry.extra), secrets)
      for (const [name, db] of Object.entries(built.registry.extra)) {
        found.push(...leaks(`registry.extra.${name}`, renderings(db), secrets))
      }
      expectNoLeaks(found)
    })

    const hasSchemas = scenario !== libsqlFile && scenario !== libsqlHttp
    if (hasSchemas)
      it('a using(undefined, { schema }) view prints no secret', () => {
        const view = built.registry.using(undefined, { schema: built.schema! })
        expectNoLeaks([
          ...leaks('using(undefined, { schema })', renderings(view), secrets),
          ...leaks('tx of a schema view', viewTxRenderings, secrets),
        ])
      })

    it('the tx handed to transaction(fn) prints no secret', () => {
      expect(txRenderings.length).toBeGreaterThan(0)
      expectNoLeaks(leaks('tx', txRenderings, secrets))
    })

    it('registry.stats() prints no secret', () => {
      expectNoLeaks(leaks('registry.stats()', renderings(built.registry.stats()), secrets))
    })

    it('every error (failed connect, failed query, bad config) and its cause chain prints no secret', () => {
      for (const [label, error] of errors) expect(error, label).toBeInstanceOf(LazyDbError)
      expectNoLeaks(errors.flatMap(([label, error]) => leaks(label, errorRenderings(error), secrets)))
    })

    it('every hook event prints no secret', () => {
      const hooks = new Set(events.map((e) => e.hook))
      for (const hook of ['connect', 'close', 'query', 'error', 'warning'] as const) {
        expect(hooks.has(hook), `an ${hook} event`).toBe(true)
      }
      const found = leaks('all hook events', renderings(events), secrets)
      events.forEach(({ hook, event }, i) => {
        const texts = event instanceof Error ? errorRenderings(event) : renderings(event)
        found.push(...leaks(`on.${hook} event #${i}`, texts, secrets))
        const inner = (event as { error?: unknown } | undefined)?.error
        if (inner !== undefined) found.push(...leaks(`on.${hook} event #${i} .error`, errorRenderings(inner), secrets))
      })
      expectNoLeaks(found)
    })
  })
}
