// The drivers and transports the benchmarks compare, each with: the gateway it needs (started in the
// parent, reached over 127.0.0.1), the lazydb database for a Registry, the raw driver client a user
// would keep at module scope, and the naive connect-per-invocation call.
import { TCP_TARGETS, lazydbTcpDatabase, rawTcpClient } from './tcp-drivers.mjs'
import { ensureWork, hasBuiltDriver, support } from './util.mjs'

export const TARGETS = {
  'libsql-file': { subpath: 'libsql', label: 'libSQL embedded file', packages: ['@libsql/client'] },
  'libsql-http': {
    subpath: 'libsql',
    label: 'libSQL over HTTP (Hrana gateway)',
    gateway: 'hrana',
    packages: ['@libsql/client'],
  },
  'neon-http': {
    subpath: 'neon',
    label: 'Neon HTTP (SQL-over-HTTP gateway)',
    gateway: 'neon-http',
    packages: ['@neondatabase/serverless', 'ws'],
  },
  'neon-ws': {
    subpath: 'neon',
    label: 'Neon WebSocket (WS proxy gateway)',
    gateway: 'neon-ws',
    packages: ['@neondatabase/serverless', 'ws'],
  },
  planetscale: {
    subpath: 'planetscale',
    label: 'PlanetScale HTTP (gateway → MariaDB)',
    gateway: 'planetscale',
    packages: ['@planetscale/database'],
  },
}

/** Imports the packages the raw driver code uses, so no timed section pays for loading them. */
export async function preloadRaw(name) {
  for (const pkg of (TARGETS[name] ?? TCP_TARGETS[name]).packages) await import(pkg)
}

export const available = (name) => hasBuiltDriver((TARGETS[name] ?? TCP_TARGETS[name]).subpath)

/**
 * Starts the gateway a target needs. Returns `env` (what a child process needs to reach it),
 * `counters()` (what the gateway saw since the last reset), `reset()` and `close()`.
 */
export async function startGateway(name, { delayMs = 0, tag = 'bench' } = {}) {
  const kind = TARGETS[name].gateway
  if (kind === undefined) {
    const file = `${ensureWork('db')}${tag}-${Date.now()}.db`
    return { env: { BENCH_URL: `file:${file}` }, counters: () => ({}), reset() {}, close: async () => {} }
  }
  if (kind === 'hrana') {
    const { startHranaGateway } = await support('hrana-gateway')
    const gw = await startHranaGateway({ file: `${ensureWork('db')}hrana-${tag}.db`, delayMs })
    return {
      env: { BENCH_URL: gw.url },
      counters: () => ({
        roundTrips: gw.roundTrips,
        serverConnectionsOpened: gw.streamsOpened,
        openServerConnections: gw.openStreams(),
      }),
      openServerConnections: () => gw.openStreams(),
      reset: () => gw.resetCounters(),
      close: () => gw.close(),
    }
  }
  const { pgUrlFor } = await support('postgres')
  // The gateways ignore the host; a loopback host keeps any misrouted connection on this machine.
  const url = pgUrlFor('127.0.0.1:5432', { password: 'not-checked', applicationName: tag })
  if (kind === 'neon-http') {
    const { startNeonHttpGateway } = await support('neon-http-gateway')
    const gw = await startNeonHttpGateway({ delayMs })
    return {
      env: { BENCH_URL: url, BENCH_FETCH_ENDPOINT: gw.endpoint },
      applicationName: tag,
      counters: () => ({ roundTrips: gw.roundTrips }),
      reset: () => gw.resetCounters(),
      close: () => gw.close(),
    }
  }
  if (kind === 'neon-ws') {
    const { startNeonWsGateway } = await support('neon-ws-gateway')
    const gw = await startNeonWsGateway({ delayMs })
    return {
      env: { BENCH_URL: url, BENCH_WS_PROXY: gw.wsProxy },
      applicationName: tag,
      counters: () => ({
        roundTrips: gw.roundTrips,
        serverConnectionsOpened: gw.connectionsOpened,
        openServerConnections: gw.openConnections,
      }),
      openServerConnections: () => gw.openConnections,
      reset: () => gw.resetCounters(),
      close: () => gw.close(),
    }
  }
  const { startPlanetscaleGateway } = await support('planetscale-gateway')
  const gw = await startPlanetscaleGateway({ delayMs })
  return {
    env: { BENCH_URL: gw.url() },
    counters: () => ({ roundTrips: gw.roundTrips, openServerConnections: gw.openMysqlConnections() }),
    openServerConnections: () => gw.openMysqlConnections(),
    reset: () => gw.resetCounters(),
    close: () => gw.close(),
  }
}

/** The raw driver, configured the way the notes on local backends say (globals, as a user would). */
async function neonRaw(env) {
  const serverless = await import('@neondatabase/serverless')
  const { default: ws } = await import('ws')
  const c = serverless.neonConfig
  c.webSocketConstructor = ws
  c.useSecureWebSocket = false
  c.pipelineConnect = false
  if (env.BENCH_WS_PROXY) c.wsProxy = env.BENCH_WS_PROXY
  if (env.BENCH_FETCH_ENDPOINT) c.fetchEndpoint = env.BENCH_FETCH_ENDPOINT
  return serverless
}

/** The lazydb Database for `name`, as a user configures it. */
export async function lazydbDatabase(name, env, extra = {}) {
  if (TCP_TARGETS[name]) return lazydbTcpDatabase(name, env, extra)
  if (name === 'libsql-file' || name === 'libsql-http') {
    const { libsql } = await import('@lazydb/core/libsql')
    return libsql(env.BENCH_URL, extra)
  }
  if (name === 'neon-http') {
    const { neon } = await import('@lazydb/core/neon')
    return neon(env.BENCH_URL, { driver: 'neon-http', fetchEndpoint: env.BENCH_FETCH_ENDPOINT, ...extra })
  }
  if (name === 'neon-ws') {
    const { neon } = await import('@lazydb/core/neon')
    return neon(env.BENCH_URL, {
      driver: 'neon-ws',
      wsProxy: env.BENCH_WS_PROXY,
      useSecureWebSocket: false,
      pipelineConnect: false,
      ...extra,
    })
  }
  const { planetscale } = await import('@lazydb/core/planetscale')
  return planetscale(env.BENCH_URL, extra)
}

/** The raw client a careful user keeps at module scope: `{ query(text, params) , close() }`. */
export async function rawClient(name, env, { max } = {}) {
  if (TCP_TARGETS[name]) return rawTcpClient(name, env, max === undefined ? {} : { max })
  if (name === 'libsql-file' || name === 'libsql-http') {
    const { createClient } = await import('@libsql/client')
    const client = createClient({ url: env.BENCH_URL })
    return {
      query: (text, params) => client.execute(params ? { sql: text, args: params } : text),
      close: async () => client.close(),
    }
  }
  if (name === 'neon-http') {
    const { neon } = await neonRaw(env)
    const sql = neon(env.BENCH_URL, { fullResults: true })
    return { query: (text, params) => sql.query(text, params), close: async () => {} }
  }
  if (name === 'neon-ws') {
    const { Pool } = await neonRaw(env)
    const pool = new Pool({ connectionString: env.BENCH_URL, ...(max === undefined ? {} : { max }) })
    pool.on('error', () => {})
    return { query: (text, params) => pool.query(text, params), close: () => pool.end() }
  }
  const { connect } = await import('@planetscale/database')
  const conn = connect({ url: env.BENCH_URL })
  return { query: (text, params) => conn.execute(text, params), close: async () => {} }
}

/** Connect-per-invocation: create the driver client, run the statement, close it. */
export async function naiveCall(name, env) {
  // 200 connections at once would exhaust the shared servers' max_connections (see tcp-cold.mjs).
  if (TCP_TARGETS[name]) throw new Error(`no connect-per-invocation baseline for the TCP driver ${name}`)
  if (name === 'libsql-file' || name === 'libsql-http') {
    const { createClient } = await import('@libsql/client')
    return async (text, params) => {
      const client = createClient({ url: env.BENCH_URL })
      try {
        return await client.execute(params ? { sql: text, args: params } : text)
      } finally {
        client.close()
      }
    }
  }
  if (name === 'neon-http') {
    const { neon } = await neonRaw(env)
    return (text, params) => neon(env.BENCH_URL, { fullResults: true }).query(text, params)
  }
  if (name === 'neon-ws') {
    const { Client } = await neonRaw(env)
    return async (text, params) => {
      const client = new Client(env.BENCH_URL)
      client.on('error', () => {})
      await client.connect()
      try {
        return await client.query(text, params)
      } finally {
        await client.end().catch(() => {})
      }
    }
  }
  const { connect } = await import('@planetscale/database')
  return (text, params) => connect({ url: env.BENCH_URL }).execute(text, params)
}
