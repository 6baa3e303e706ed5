// The fixture of the neon-ws pool lifecycle suites: one local WebSocket gateway and one admin `pg` client
// per describe(), and after each test every registry the test opened force-disconnected and whatever its
// application_name still holds on the server terminated. A run that hung (a regression) must not leave
// pools or backends for the next test.
import type pg from 'pg'
import { afterAll, afterEach, beforeAll } from 'vitest'
import { type DatabaseInput, Registry, type RegistryOptions } from '@lazydb/core'
import type { NeonOptions } from '@lazydb/core/neon'
import { type NeonWsGateway, type NeonWsGatewayOptions, startNeonWsGateway } from '../support/neon-ws-gateway.js'
import { neonWs, settledWithin, terminateLeftovers, uniqueApp, unconnectedAdminClient } from './pool-support.js'

/** Registry options besides the database; `platform: 'node'` and `warn: false` unless given. */
export type SuiteRegistryOptions = Omit<RegistryOptions, 'database' | 'extra'>

export interface PoolSuite {
  /** The suite's gateway. It starts in beforeAll: read it in a hook or a test, not while collecting. */
  readonly gateway: NeonWsGateway
  /** The suite's admin client (not through lazydb or the gateway): connected in beforeAll, ended in afterAll. */
  readonly admin: pg.Client
  /** A registry over a neon-ws database (a Pool over the gateway) with a fresh application_name made from `label`. */
  open(
    label: string,
    neonOptions?: NeonOptions,
    registryOptions?: SuiteRegistryOptions,
  ): { app: string; registry: Registry<ReturnType<typeof neonWs>> }
  /** A registry over any `database` whose connections carry application_name `app`, cleaned up like open's. */
  openDatabase<D extends DatabaseInput>(database: D, app: string, registryOptions?: SuiteRegistryOptions): Registry<D>
  /** Runs `task` after the current test, once its registries are closed and their backends gone (drop a table). */
  afterTest(task: () => unknown): void
}

/**
 * Call inside describe(): registers that suite's beforeAll, afterEach and afterAll. Hooks the file registers
 * after this call run after its beforeAll and, vitest's after hooks running in reverse order
 * (`sequence.hooks: 'stack'`, the default), before its afterEach and afterAll: they may use `admin`.
 */
export function poolSuite(gatewayOptions?: NeonWsGatewayOptions): PoolSuite {
  let gateway: NeonWsGateway | undefined
  const admin = unconnectedAdminClient()
  let adminConnected = false
  const opened: { app: string; registry: Registry }[] = []
  const tasks: (() => unknown)[] = []

  beforeAll(async () => {
    try {
      gateway = await startNeonWsGateway(gatewayOptions)
      await admin.connect()
      adminConnected = true
    } catch (error) {
      await admin.end() // what the file's own hooks then ask of admin fails at once, instead of waiting
      throw error
    }
  })
  afterEach(async () => {
    for (const { app, registry } of opened.splice(0)) {
      await settledWithin(registry.disconnect({ force: true }), 2000)
      await terminateLeftovers(admin, app)
    }
    for (const task of tasks.splice(0)) await task()
  })
  afterAll(async () => {
    if (adminConnected) await admin.end()
    await gateway?.close()
  })

  const started = () => {
    if (gateway === undefined) throw new Error('poolSuite: the gateway starts in beforeAll')
    return gateway
  }
  const openDatabase = <D extends DatabaseInput>(database: D, app: string, registryOptions?: SuiteRegistryOptions) => {
    const registry = new Registry({ database, platform: 'node', warn: false, ...registryOptions })
    opened.push({ app, registry })
    return registry
  }

  return {
    get gateway() {
      return started()
    },
    admin,
    open: (label, neonOptions, registryOptions) => {
      const app = uniqueApp(label)
      return { app, registry: openDatabase(neonWs(started(), app, neonOptions), app, registryOptions) }
    },
    openDatabase,
    afterTest: (task) => void tasks.push(task),
  }
}
