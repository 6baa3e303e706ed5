// One Lambda-like instance of the fleet simulation (bench/lib/fleet.mjs): loads the function once, then
// runs one invocation per IPC message. The parent freezes it (SIGSTOP) between invocations.
// FLEET_MODE=lazydb: lazydb's pg driver with its Lambda defaults plus the reaper.
// FLEET_MODE=baseline: the hand-written best practice, a module-scope pg Pool of max 1 outside the handler.
import pg from 'pg'

const url = process.env.FLEET_URL
const SQL = 'select pg_sleep(0.005), 1 as one'
let invoke
if (process.env.FLEET_MODE === 'lazydb') {
  const { Registry, handler } = await import('@lazydb/core')
  const { pg: pgDatabase } = await import('@lazydb/core/pg')
  const registry = new Registry({ database: pgDatabase(url, { reaper: true }), platform: 'aws-lambda', warn: false })
  invoke = handler(registry, async () => (await registry.database.query(SQL)).rows)
} else {
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  pool.on('error', () => {}) // an idle connection ended by the server must not crash the instance
  invoke = async () => (await pool.query(SQL)).rows
}

process.on('message', async ({ id }) => {
  try {
    await invoke()
    process.send({ id, ok: true })
  } catch (error) {
    const sqlState = error?.sqlState ?? error?.code ?? error?.cause?.code
    process.send({ id, ok: false, code: error?.code, sqlState, message: String(error?.message ?? error) })
  }
})
process.send({ ready: true })
