import { FleetReaper } from '../fleet-reaper.js'
import { type CoreConnection, run } from './connection.js'

// The fleet reaper on MySQL/MariaDB (serverless-mysql's rule, opt-in): every so often a live instance
// looks at how full the server is for its user (MAX_USER_CONNECTIONS, else max_connections); past
// `usage`, it ends (KILL) its user's connections asleep at least `idleMs` — those of frozen instances —
// and, while the server stays that full, closes its own connection after use instead of keeping it
// idle. Without performance_schema MySQL lists no connection attributes, so the reaper tells
// applications apart by user: give each application its own. It never ends a session inside a
// transaction, which needs the PROCESS privilege to see (INNODB_TRX). Safe because every lazydb instance
// replaces a connection that was ended while idle before using it.

const USAGE = `SELECT COUNT(*) AS used, @@max_user_connections AS user_cap, @@max_connections AS cap
  FROM information_schema.PROCESSLIST WHERE USER = SUBSTRING_INDEX(CURRENT_USER(), '@', 1)`

// A session inside a transaction shows as Sleep too: INNODB_TRX tells them apart. Reading it needs the
// PROCESS privilege; without it this query fails and nothing is ended (the server's wait_timeout still is).
const ASLEEP = `SELECT ID AS id FROM information_schema.PROCESSLIST
  WHERE USER = SUBSTRING_INDEX(CURRENT_USER(), '@', 1) AND COMMAND = 'Sleep' AND TIME >= ? AND ID <> CONNECTION_ID()
    AND ID NOT IN (SELECT trx_mysql_thread_id FROM information_schema.INNODB_TRX)`

interface Usage {
  used: number | string
  user_cap: number | string
  cap: number | string
}

export class MysqlReaper extends FleetReaper<CoreConnection> {
  /** The statement each new connection runs first: the server ends it by itself once idle past `serverIdleMs`. */
  sessionStatement(): string {
    return `SET SESSION wait_timeout = ${Math.max(1, Math.ceil(this.settings.serverIdleMs / 1000))}`
  }

  protected async isCrowded(connection: CoreConnection): Promise<boolean> {
    const usage = ((await run(connection, USAGE))[0] as Usage[])[0]!
    const cap = Number(usage.user_cap) > 0 ? Number(usage.user_cap) : Number(usage.cap)
    return cap > 0 && Number(usage.used) >= this.settings.usage * cap
  }

  protected async endIdle(connection: CoreConnection): Promise<number> {
    const [asleep] = await run(connection, ASLEEP, [Math.ceil(this.settings.idleMs / 1000)])
    let ended = 0
    for (const { id } of asleep as { id: number | string }[]) {
      // One that is gone already is not counted.
      await run(connection, `KILL ${Number(id)}`).then(
        () => ended++,
        () => undefined,
      )
    }
    return ended
  }
}
