// Pins down: what lazydb keeps on globalThis (warm-client caches, the Registry.fromEnv cache, driver
// tables) holds no secret: util.inspect(globalThis, { depth: 10, showHidden: true }) after registries
// of every driver were used, and after Registry.fromEnv({ DATABASE_URL: … }) was called, shows no
// URL password, URL token, function token or encryptionKey. vitest's own worker state is left out of
// the scan: it holds the test sources and RPC proxies that throw when inspected.
import { randomBytes } from 'node:crypto'
import util from 'node:util'
import { afterAll, beforeAll, describe, it } from 'vitest'
import ws from 'ws'
import { Registry } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { neon, type NeonOptions } from '@lazydb/core/neon'
import { planetscale } from '@lazydb/core/planetscale'
import { startHranaGateway, type HranaGateway } from '../support/hrana-gateway.js'
import { MARIADB_CREDENTIALS, ensureMariadbUser, requireMariadb, setupMariadb } from '../support/mariadb.js'
import { startNeonHttpGateway, type NeonHttpGateway } from '../support/neon-http-gateway.js'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { startPlanetscaleGateway, type PlanetscaleGateway } from '../support/planetscale-gateway.js'
import { requirePostgres } from '../support/postgres.js'
import { tempDir } from '../support/tmp.js'
import { SECRET, expectNoLeaks, leaks, secret, settledWithin, type Secret } from './secrets-support.js'

const pgUp = await requirePostgres()
const mariaUp = await requireMariadb()

const PID = process.pid
const PS_USER = 'lazydb_secrets_global'

/**
 * globalThis, property by property (descriptors copied, so accessors are not called, as when
 * inspecting globalThis itself), without vitest's worker state and without its self-references.
 */
function globalsToScan(): object {
  const copy = {}
  for (const key of Reflect.ownKeys(globalThis)) {
    if (typeof key === 'string' && key.startsWith('__vitest')) continue
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, key)!
    if ('value' in descriptor && descriptor.value === globalThis) continue
    Object.defineProperty(copy, key, { ...descriptor, enumerable: true })
  }
  return copy
}

const globalLeaks = (label: string, secrets: readonly Secret[]) => {
  const options = { depth: 10, showHidden: true, maxArrayLength: Infinity, maxStringLength: Infinity }
  const how = 'util.inspect(globalThis, { depth: 10, showHidden: true })'
  return leaks(label, [[how, util.inspect(globalsToScan(), options)]], secrets)
}

const tmp = tempDir('lazydb-secrets-global-')
let hrana: HranaGateway | undefined
let neonHttpGw: NeonHttpGateway | undefined
let neonWsGw: NeonWsGateway | undefined
let psGw: PlanetscaleGateway | undefined
const registries: Registry[] = []

afterAll(async () => {
  await Promise.all(registries.map((r) => r.disconnect({ force: true })))
  await Promise.all([hrana?.close(), neonHttpGw?.close(), neonWsGw?.close(), psGw?.close()])
  tmp.remove()
})

describe('globalThis after registries of every driver were used', () => {
  const secrets: Secret[] = [secret('encryptionKey'), secret('urlToken')]

  beforeAll(async () => {
    hrana = await startHranaGateway({ file: tmp.file('hrana.db'), authToken: SECRET.urlToken })
    registries.push(
      new Registry({
        database: libsql(`file:${tmp.file('main.db')}`, { encryptionKey: SECRET.encryptionKey }),
        extra: { hrana: `${hrana.url}?authToken=${SECRET.urlToken}` },
        warn: false,
      }),
    )
    if (pgUp) {
      secrets.push(secret('password'), secret('asyncFnToken'), secret('syncFnToken'))
      neonHttpGw = await startNeonHttpGateway()
      neonWsGw = await startNeonWsGateway()
      const url =
        `postgres://postgres:${SECRET.password}@ep-secrets-global.neon.tech/test` +
        `?application_name=lazydb-secrets-global-${PID}`
      const socket: NeonOptions = {
        wsProxy: neonWsGw.wsProxy,
        useSecureWebSocket: false,
        pipelineConnect: false,
        webSocketConstructor: ws,
      }
      const fetchEndpoint = neonHttpGw.endpoint
      registries.push(
        new Registry({
          database: neon(url, { fetchEndpoint, authToken: async () => SECRET.asyncFnToken, ...socket }),
          extra: {
            sync: neon(url, { fetchEndpoint, authToken: () => SECRET.syncFnToken, ...socket }),
            socket: neon(url, { driver: 'neon-ws', max: 2, ...socket }),
          },
          warn: false,
        }),
      )
    }
    if (mariaUp) {
      const basic = Buffer.from(`${PS_USER}:${SECRET.password}`).toString('base64')
      secrets.push({ name: 'PlanetScale Basic credentials', value: basic })
      if (!pgUp) secrets.push(secret('password'))
      await setupMariadb()
      await ensureMariadbUser(PS_USER, SECRET.password)
      const mysql = { ...MARIADB_CREDENTIALS, user: PS_USER, password: SECRET.password }
      psGw = await startPlanetscaleGateway({ mysql })
      registries.push(new Registry({ database: planetscale(psGw.url(PS_USER, SECRET.password)), warn: false }))
    }
    for (const registry of registries) {
      for (const db of [registry.database, ...Object.values(registry.extra)]) {
        const what = `${db.name} (${db.driver})`
        await settledWithin(db.query('select 1'), 8000, `query on ${what}`)
        await settledWithin(
          db.transaction((tx) => tx.query('select 1')),
          8000,
          `transaction on ${what}`,
        )
      }
    }
  }, 30_000)

  it('util.inspect(globalThis) shows no password, token, function token or encryptionKey', () => {
    expectNoLeaks(globalLeaks('globalThis after use', secrets))
  })
})

describe('globalThis after Registry.fromEnv()', () => {
  // Secrets of their own, so what the other describe's registries left behind does not count here.
  const envPassword = `PwEnv-${randomBytes(4).toString('hex')}`
  const envToken = `tokEnv-${randomBytes(4).toString('hex')}`
  const secrets: Secret[] = [
    { name: 'DATABASE_URL password', value: envPassword },
    { name: 'DATABASE_URL_NOTES token', value: envToken },
  ]
  let envHrana: HranaGateway | undefined
  afterAll(async () => void (await envHrana?.close()))

  it('util.inspect(globalThis) shows no secret of the env URLs, before and after they are used', async () => {
    envHrana = await startHranaGateway({ file: tmp.file('env.db'), authToken: envToken })
    const env = {
      DATABASE_URL: `postgres://postgres:${envPassword}@ep-secrets-env.neon.tech/test`,
      DATABASE_URL_NOTES: `${envHrana.url}?authToken=${envToken}`,
    }
    const registry = Registry.fromEnv(env, { warn: false })
    registries.push(registry)
    const found = globalLeaks('globalThis after Registry.fromEnv()', secrets)
    await settledWithin(registry.extra.notes!.query('select 1'), 8000, 'query on DATABASE_URL_NOTES')
    found.push(...globalLeaks('globalThis after a query on a Registry.fromEnv() database', secrets))
    expectNoLeaks(found)
  })
})
