// One Lambda-like instance of the fleet simulation (bench/lib/fleet.mjs): loads the function once, then
// runs one invocation per IPC message. The parent freezes it (SIGSTOP) between invocations.
// FLEET_MODE=lazydb: lazydb's pg or mysql2 driver (FLEET_DRIVER) with its Lambda defaults plus the reaper.
// FLEET_MODE=baseline: the hand-written best practice, a module-scope pool of max 1 outside the handler.
const url = process.env.FLEET_URL
const mysql = process.env.FLEET_DRIVER === 'mysql2'
const SQL = mysql ? 'select sleep(0.005), 1 as one' : 'select pg_sleep(0.005), 1 as one'
let invoke
if (process.env.FLEET_MODE === 'lazydb') {
  const { Registry, handler } = await import('@lazydb/core')
  const factory = mysql ? (await import('@lazydb/core/mysql2')).mysql2 : (await import('@lazydb/core/pg')).pg
  const registry = new Registry({ database: factory(url, { reaper: true }), platform: 'aws-lambda', warn: false })
  invoke = handler(registry, async () => (await registry.database.query(SQL)).rows)
} else if (mysql) {
  const { createPool } = await import('mysql2/promise')
  const pool = createPool({ uri: url, connectionLimit: 1 })
  pool.pool.on('connection', (connection) => connection.on('error', () => {}))
  invoke = async () => (await pool.query(SQL))[0]
} else {
  const { default: pg } = await import('pg')
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
    const errno = error?.errno ?? error?.cause?.errno
    process.send({ id, ok: false, code: error?.code, sqlState, errno, message: String(error?.message ?? error) })
  }
})
process.send({ ready: true })
