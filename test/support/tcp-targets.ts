// The TCP drivers (pg, postgres.js, mysql2) as the reliability suites drive them: a URL whose
// connections carry a tag of the test's own, and, for that tag, the server's count of connections and
// a way to end them all (pg_terminate_backend; MariaDB KILL), as a server or a proxy would.
import pg from 'pg'
import { ensureMariadbUser, mariadbAvailable, rootConnection, setupMariadb } from './mariadb.js'
import { PG_URL, pgUrlFor, postgresAvailable } from './postgres.js'

export type TcpDriver = 'pg' | 'postgres' | 'mysql2'

export interface TcpTarget {
  driver: TcpDriver
  /** Prepares the tag (a MariaDB user per tag; nothing on Postgres, where the tag is application_name). */
  prepare(tag: string): Promise<void>
  url(tag: string, hostPort?: string): string
  /** The statement that returns the server's id of the connection used, as `pid`. */
  pidSql: string
  /** A statement that takes `seconds` on the server. */
  sleepSql(seconds: number): string
  connections(tag: string): Promise<number>
  /** Ends every server connection of the tag; resolves with how many. */
  kill(tag: string): Promise<number>
  available(): Promise<boolean>
  /** The server's own address (for a proxy in front of it). */
  hostPort: string
}

async function pgQuery<T>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client(PG_URL)
  client.on('error', () => {})
  await client.connect()
  try {
    return (await client.query(text, values)).rows as T[]
  } finally {
    await client.end()
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function postgresTarget(driver: 'pg' | 'postgres'): TcpTarget {
  const connections = async (tag: string) =>
    (
      await pgQuery<{ n: number }>(
        'select count(*)::int as n from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()',
        [tag],
      )
    )[0]!.n
  return {
    driver,
    hostPort: '127.0.0.1:5432',
    prepare: async () => undefined,
    url: (tag, hostPort = '127.0.0.1:5432') => pgUrlFor(hostPort, { password: 'tcp-target-pw', applicationName: tag }),
    pidSql: 'select pg_backend_pid() as pid',
    sleepSql: (seconds) => `select pg_sleep(${seconds})`,
    connections,
    async kill(tag) {
      const pids = (
        await pgQuery<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [tag])
      ).map((r) => r.pid)
      await pgQuery('select pg_terminate_backend(pid) from unnest($1::int[]) as pid', [pids])
      for (let i = 0; i < 200 && (await connections(tag)) > 0; i++) await sleep(5)
      return pids.length
    },
    available: () => postgresAvailable(),
  }
}

const MYSQL_PASSWORD = 'tcp-target-pw-77'
/** A MariaDB user name for a tag (at most 32 characters). */
const mysqlUser = (tag: string) => `t_${tag.replace(/[^a-z0-9]/gi, '_')}`.slice(-32)

async function mysqlIds(tag: string): Promise<number[]> {
  const root = await rootConnection()
  try {
    const [rows] = await root.query('select ID as id from information_schema.processlist where USER = ?', [
      mysqlUser(tag),
    ])
    return (rows as { id: number }[]).map((r) => Number(r.id))
  } finally {
    await root.end()
  }
}

const mysql2Target: TcpTarget = {
  driver: 'mysql2',
  hostPort: '127.0.0.1:3306',
  async prepare(tag) {
    await setupMariadb()
    await ensureMariadbUser(mysqlUser(tag), MYSQL_PASSWORD)
  },
  url: (tag, hostPort = '127.0.0.1:3306') => `mysql://${mysqlUser(tag)}:${MYSQL_PASSWORD}@${hostPort}/lazydb_test`,
  pidSql: 'select connection_id() as pid',
  sleepSql: (seconds) => `select sleep(${seconds})`,
  connections: async (tag) => (await mysqlIds(tag)).length,
  async kill(tag) {
    const ids = await mysqlIds(tag)
    const root = await rootConnection()
    try {
      for (const id of ids) await root.query(`KILL ${id}`).catch(() => undefined)
    } finally {
      await root.end()
    }
    for (let i = 0; i < 200 && (await mysqlIds(tag)).length > 0; i++) await sleep(5)
    return ids.length
  },
  available: () => mariadbAvailable(),
}

/** Every TCP driver, as the reliability suites drive it. */
export const TCP_TARGETS: TcpTarget[] = [postgresTarget('pg'), postgresTarget('postgres'), mysql2Target]
