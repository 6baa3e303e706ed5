// Test support: the local MariaDB 10.11 server (see /work/shared/notes/local-backends.md).
// Root is used only over the Unix socket (on some machines it can log in nowhere else);
// everything else connects over TCP as the `lazydb` user that setupMariadb() creates.
import { connect as netConnect } from 'node:net'
import mysql from 'mysql2/promise'
import type { Connection, ConnectionOptions } from 'mysql2/promise'
import { underCi } from './ci.js'

export const MARIADB_SOCKET = '/run/mysqld/mysqld.sock'
export const MARIADB_START_COMMAND =
  'install -d -o mysql -g mysql /run/mysqld; ' +
  'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql'

export interface MariadbCredentials {
  user: string
  password: string
  database: string
  host: '127.0.0.1'
  port: 3306
}

export const MARIADB_CREDENTIALS: MariadbCredentials = {
  user: 'lazydb',
  password: 'lazydb-test-pw',
  database: 'lazydb_test',
  host: '127.0.0.1',
  port: 3306,
}
/** The second database, for schema-switch (`USE`) tests. */
export const MARIADB_OTHER_DATABASE = 'lazydb_test_other'

function canConnect(options: { path: string } | { host: string; port: number }, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect(options)
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/** Where the tests look for MariaDB (a test of the CI guard points it elsewhere). */
export interface MariadbLocation {
  socket: string
  port: number
}
const MARIADB_LOCATION: MariadbLocation = { socket: MARIADB_SOCKET, port: MARIADB_CREDENTIALS.port }

/** True when the server accepts connections on its socket or on 127.0.0.1:3306. */
export async function mariadbAvailable(where = MARIADB_LOCATION): Promise<boolean> {
  if (await canConnect({ path: where.socket })) return true
  return canConnect({ host: MARIADB_CREDENTIALS.host, port: where.port })
}

/**
 * For `describe.skipIf(!(await requireMariadb()))`: true when MariaDB runs; under CI (CI set to
 * anything but "", "false" or "0": see underCi) a missing server is an error, elsewhere it logs how
 * to start it and returns false.
 */
export async function requireMariadb(where = MARIADB_LOCATION): Promise<boolean> {
  if (await mariadbAvailable(where)) return true
  const howTo = `start it with: ${MARIADB_START_COMMAND} (then wait on \`mysqladmin ping --silent\`)`
  if (underCi()) {
    throw new Error(
      `MariaDB is required under CI but is not reachable on ${where.socket} or 127.0.0.1:${where.port}; ${howTo}`,
    )
  }
  console.warn(`[lazydb tests] MariaDB is not running; skipping its tests. To run them, ${howTo}`)
  return false
}

/** A root connection over the Unix socket (password-less; unix_socket auth answered with nothing). */
/** Root over the Unix socket (the only way root may log in on some machines). */
export async function rootConnection(): Promise<Connection> {
  return mysql.createConnection({
    socketPath: MARIADB_SOCKET,
    user: 'root',
    authPlugins: { unix_socket: () => () => Buffer.alloc(0) },
  })
}

let setupOnce: Promise<MariadbCredentials> | undefined

/**
 * Idempotently creates the databases `lazydb_test` and `lazydb_test_other` and the user
 * `lazydb`@`127.0.0.1` / `lazydb`@`localhost` with all privileges on both. Safe to call from
 * every test file (parallel forks included); runs once per process.
 */
export function setupMariadb(): Promise<MariadbCredentials> {
  setupOnce ??= (async () => {
    const { user, password, database } = MARIADB_CREDENTIALS
    const root = await rootConnection()
    try {
      for (const db of [database, MARIADB_OTHER_DATABASE]) {
        await root.query(`CREATE DATABASE IF NOT EXISTS \`${db}\``)
      }
    } finally {
      await root.end()
    }
    await ensureMariadbUser(user, password)
    return { ...MARIADB_CREDENTIALS }
  })()
  setupOnce.catch(() => {
    setupOnce = undefined
  })
  return setupOnce
}

/**
 * Idempotently creates `user`@`127.0.0.1` and `user`@`localhost` with `password` and all
 * privileges on the test databases: a suite with a user of its own counts only its connections.
 */
export async function ensureMariadbUser(
  user: string,
  password: string,
  databases = [MARIADB_CREDENTIALS.database, MARIADB_OTHER_DATABASE],
): Promise<void> {
  const root = await rootConnection()
  try {
    for (const host of ['127.0.0.1', 'localhost']) {
      await root.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [user, host, password])
      await root.query('ALTER USER ?@? IDENTIFIED BY ?', [user, host, password])
      for (const db of databases) await root.query(`GRANT ALL PRIVILEGES ON \`${db}\`.* TO ?@?`, [user, host])
    }
  } finally {
    await root.end()
  }
}

/**
 * Server connections currently open for `user` (rows of information_schema.processlist,
 * the querying connection excluded). Counted as root over the socket.
 */
export async function mariadbConnectionCount(user = MARIADB_CREDENTIALS.user): Promise<number> {
  const root = await rootConnection()
  try {
    const [rows] = await root.query(
      'SELECT COUNT(*) AS n FROM information_schema.processlist WHERE USER = ? AND ID <> CONNECTION_ID()',
      [user],
    )
    return Number((rows as Array<{ n: number | string }>)[0]?.n ?? 0)
  } finally {
    await root.end()
  }
}

/** A mysql2/promise connection over TCP as `lazydb` to `lazydb_test`, for comparing results. */
export async function mysqlDirect(options: ConnectionOptions = {}): Promise<Connection> {
  const creds = await setupMariadb()
  return mysql.createConnection({ ...creds, ...options })
}
