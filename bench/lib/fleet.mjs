// The fleet simulation: `instances` Lambda-like processes (bench/fleet-instance.mjs) against PostgreSQL
// through a role with CONNECTION LIMIT `cap` (no server restart). Invocations arrive in bursts of 1 to
// `maxBurst`, each sent to a random instance that is thawed (SIGCONT) for it and frozen (SIGSTOP) after
// its reply, as Lambda freezes an environment between invocations: a frozen instance keeps its
// connections open on the server. Counts what reaches user code: "too many connections" errors and others.
import { fork } from 'node:child_process'
import pg from 'pg'
import { ROOT, sleep } from './util.mjs'

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test'
const TOO_MANY = /too many connections|remaining connection slots/i

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

/** Creates (again) the capped role; resolves with its URL. */
export async function prepareFleetRole(role, cap, password = 'fleet-pw-2718') {
  await admin(`select pg_terminate_backend(pid) from pg_stat_activity where usename = $1`, [role])
  await admin(`drop role if exists ${role}`)
  await admin(`create role ${role} login password '${password}' connection limit ${cap}`)
  return `postgres://${role}:${password}@127.0.0.1:5432/test?application_name=${role}`
}

export async function dropFleetRole(role) {
  await admin(`select pg_terminate_backend(pid) from pg_stat_activity where usename = $1`, [role])
  await sleep(100)
  await admin(`drop role if exists ${role}`).catch(() => undefined)
}

/**
 * Runs one fleet; resolves with { invocations, ok, tooMany, otherErrors, peakConnections, ms }.
 * `mode` is 'lazydb' or 'baseline'.
 */
export async function runFleet({ mode, url, role, instances, invocations, maxBurst, seed = 1, deadlineMs = 120_000 }) {
  const random = prng(seed)
  const children = []
  try {
    for (let i = 0; i < instances; i++) {
      const child = fork(`${ROOT}bench/fleet-instance.mjs`, [], {
        env: { ...process.env, FLEET_MODE: mode, FLEET_URL: url, AWS_LAMBDA_FUNCTION_NAME: 'lazydb-fleet' },
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
      const client = new pg.Client(ADMIN_URL)
      await client.connect()
      while (sampling) {
        const { rows } = await client.query('select count(*)::int as n from pg_stat_activity where usename = $1', [
          role,
        ])
        peakConnections = Math.max(peakConnections, rows[0].n)
        await sleep(20)
      }
      await client.end()
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
        else if (reply.sqlState === '53300' || TOO_MANY.test(reply.message)) outcome.tooMany++
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
