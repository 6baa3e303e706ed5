// The fleet simulation: `instances` Lambda-like processes (bench/fleet-instance.mjs) against PostgreSQL
// through a role with CONNECTION LIMIT `cap`, or MariaDB through a user with MAX_USER_CONNECTIONS `cap`
// (no server restart). Invocations arrive in bursts of 1 to
// `maxBurst`, each sent to a random instance that is thawed (SIGCONT) for it and frozen (SIGSTOP) after
// its reply, as Lambda freezes an environment between invocations: a frozen instance keeps its
// connections open on the server. Counts what reaches user code: "too many connections" errors and others.
import { fork } from 'node:child_process'
import pg from 'pg'
import { ROOT, sleep } from './util.mjs'

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test'
const TOO_MANY = /too many connections|remaining connection slots|max_user_connections/i
/** MySQL refusals, server or user full (ER_CON_COUNT_ERROR, ER_TOO_MANY_USER_CONNECTIONS, ER_USER_LIMIT_REACHED). */
const TOO_MANY_ERRNO = new Set([1040, 1203, 1226])
const MYSQL_SOCKET = '/run/mysqld/mysqld.sock'

/** Root on MariaDB over its Unix socket, for one statement. */
async function mysqlRoot(sql, params) {
  const { createConnection } = await import('mysql2/promise')
  const root = await createConnection({
    socketPath: MYSQL_SOCKET,
    user: 'root',
    authPlugins: { unix_socket: () => () => Buffer.alloc(0) },
  })
  try {
    return (await root.query(sql, params))[0]
  } finally {
    await root.end()
  }
}

async function mysqlKillUser(user) {
  for (const { id } of await mysqlRoot('select ID as id from information_schema.processlist where USER = ?', [user]))
    await mysqlRoot(`KILL ${Number(id)}`).catch(() => undefined)
}

/**
 * Server connections of the role (Postgres) or user (MariaDB). MariaDB lists a connection it is about
 * to refuse for MAX_USER_CONNECTIONS under the user too, in the Connect phase: those are not counted.
 */
async function connectionsOf(driver, role) {
  if (driver === 'mysql2') {
    const rows = await mysqlRoot(
      "select count(*) as n from information_schema.processlist where USER = ? and COMMAND <> 'Connect'",
      [role],
    )
    return Number(rows[0].n)
  }
  return (await admin('select count(*)::int as n from pg_stat_activity where usename = $1', [role]))[0].n
}

/** A small seeded PRNG (mulberry32), so a run's sequence of bursts can be replayed. */
function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

async function admin(sql, params) {
  const client = new pg.Client(ADMIN_URL)
  client.on('error', () => {})
  await client.connect()
  try {
    return (await client.query(sql, params)).rows
  } finally {
    await client.end()
  }
}

/** Creates (again) the capped role (Postgres) or user (MariaDB, `driver` mysql2); resolves with its URL. */
export async function prepareFleetRole(role, cap, password = 'fleet-pw-2718', driver = 'pg') {
  if (driver === 'mysql2') {
    await mysqlKillUser(role)
    for (const host of ['127.0.0.1', 'localhost']) {
      await mysqlRoot('DROP USER IF EXISTS ?@?', [role, host])
      await mysqlRoot('CREATE USER ?@? IDENTIFIED BY ?', [role, host, password])
      await mysqlRoot('CREATE DATABASE IF NOT EXISTS lazydb_test')
      await mysqlRoot('GRANT ALL PRIVILEGES ON lazydb_test.* TO ?@?', [role, host])
      // PROCESS: the reaper sees which sessions are inside a transaction (it ends none of those).
      await mysqlRoot(`GRANT PROCESS ON *.* TO ?@? WITH MAX_USER_CONNECTIONS ${cap}`, [role, host])
    }
    return `mysql://${role}:${password}@127.0.0.1:3306/lazydb_test`
  }
  await admin(`select pg_terminate_backend(pid) from pg_stat_activity where usename = $1`, [role])
  await admin(`drop role if exists ${role}`)
  await admin(`create role ${role} login password '${password}' connection limit ${cap}`)
  return `postgres://${role}:${password}@127.0.0.1:5432/test?application_name=${role}`
}

export async function dropFleetRole(role, driver = 'pg') {
  if (driver === 'mysql2') {
    await mysqlKillUser(role)
    for (const host of ['127.0.0.1', 'localhost']) await mysqlRoot('DROP USER IF EXISTS ?@?', [role, host])
    return
  }
  await admin(`select pg_terminate_backend(pid) from pg_stat_activity where usename = $1`, [role])
  await sleep(100)
  await admin(`drop role if exists ${role}`).catch(() => undefined)
}

/**
 * Runs one fleet; resolves with { invocations, ok, tooMany, otherErrors, peakConnections, ms }.
 * `mode` is 'lazydb' or 'baseline'.
 */
export async function runFleet({
  mode,
  url,
  role,
  instances,
  invocations,
  maxBurst,
  seed = 1,
  deadlineMs = 120_000,
  driver = 'pg',
}) {
  const random = prng(seed)
  const children = []
  try {
    for (let i = 0; i < instances; i++) {
      const child = fork(`${ROOT}bench/fleet-instance.mjs`, [], {
        env: {
          ...process.env,
          FLEET_MODE: mode,
          FLEET_URL: url,
          FLEET_DRIVER: driver,
          AWS_LAMBDA_FUNCTION_NAME: 'lazydb-fleet',
        },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
      const replies = new Map()
      child.on('message', (m) => {
        if (m.ready) return child.emit('ready')
        replies.get(m.id)?.(m)
        replies.delete(m.id)
      })
      await new Promise((resolve, reject) => {
        child.once('ready', resolve)
        child.once('exit', (code) => reject(new Error(`a fleet instance exited with ${code}`)))
      })
      child.kill('SIGSTOP')
      children.push({ child, replies, nextId: 0 })
    }
    let peakConnections = 0
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        peakConnections = Math.max(peakConnections, await connectionsOf(driver, role))
        await sleep(20)
      }
    })()
    const outcome = { invocations: 0, ok: 0, tooMany: 0, otherErrors: [] }
    const started = performance.now()
    const invokeOn = (instance) =>
      new Promise((resolve) => {
        const id = ++instance.nextId
        const timer = setTimeout(() => resolve({ ok: false, message: 'no reply within 30 s' }), 30_000)
        instance.replies.set(id, (reply) => (clearTimeout(timer), resolve(reply)))
        instance.child.kill('SIGCONT')
        instance.child.send({ id })
      }).then((reply) => {
        instance.child.kill('SIGSTOP')
        return reply
      })
    while (outcome.invocations < invocations && performance.now() - started < deadlineMs) {
      const size = Math.min(1 + Math.floor(random() * maxBurst), invocations - outcome.invocations, instances)
      const chosen = [...children].sort(() => random() - 0.5).slice(0, size)
      const replies = await Promise.all(chosen.map(invokeOn))
      for (const reply of replies) {
        outcome.invocations++
        if (reply.ok) outcome.ok++
        else if (reply.sqlState === '53300' || TOO_MANY_ERRNO.has(reply.errno) || TOO_MANY.test(reply.message))
          outcome.tooMany++
        else outcome.otherErrors.push({ code: reply.code, sqlState: reply.sqlState, message: reply.message })
      }
      await sleep(Math.floor(random() * 50))
    }
    sampling = false
    await sampler
    return { ...outcome, peakConnections, ms: Math.round(performance.now() - started) }
  } finally {
    for (const { child } of children) {
      child.kill('SIGCONT')
      child.kill('SIGKILL')
    }
  }
}
