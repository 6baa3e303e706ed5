import { FleetReaper } from '../fleet-reaper.js'
import type { SessionLike } from './session.js'

// The fleet reaper on Postgres. Frozen instances (Lambda, Vercel) keep their idle connections open on
// the server, and a fleet of them fills the server's limit ("too many connections"). Every so often a
// live instance looks at how full the server is; past `usage`, it ends the connections of its own
// application (same role, same application_name) that have been idle at least `idleMs`. Safe because
// every lazydb instance replaces a connection that was ended while idle before using it. A session inside
// a transaction (state 'idle in transaction') or holding an advisory lock is never ended; other session
// state on a connection someone holds checked out and idle that long (a temp table, LISTEN) would be. While the
// server is that full, an instance also keeps no idle connection of its own.

/** How full the server is for this role, and how full it is in all. */
const USAGE = `select
  (select count(*) from pg_stat_activity where usename = current_user)::int as role_used,
  (select rolconnlimit from pg_roles where rolname = current_user)::int as role_cap,
  (select count(*) from pg_stat_activity where backend_type = 'client backend')::int as used,
  (current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int) as cap`

const REAP = `select count(pg_terminate_backend(pid))::int as ended from pg_stat_activity
  where usename = current_user and application_name = current_setting('application_name')
    and state = 'idle' and pid <> pg_backend_pid() and state_change < now() - make_interval(secs => $1)
    and pid not in (select pid from pg_locks where locktype = 'advisory' and pid is not null)`

interface Usage {
  role_used: number
  role_cap: number
  used: number
  cap: number
}

export class PostgresReaper extends FleetReaper<SessionLike> {
  /** The startup option that makes the server end a connection of ours idle past `serverIdleMs` by itself. */
  startupOptions(): string {
    return `-c idle_session_timeout=${Math.round(this.settings.serverIdleMs)}`
  }

  protected async isCrowded(session: SessionLike): Promise<boolean> {
    const usage = (await session.query(USAGE)).rows[0] as Usage
    const share = this.settings.usage
    return (
      (usage.role_cap > 0 && usage.role_used >= share * usage.role_cap) ||
      (usage.cap > 0 && usage.used >= share * usage.cap)
    )
  }

  protected async endIdle(session: SessionLike): Promise<number> {
    return ((await session.query(REAP, [this.settings.idleMs / 1000])).rows[0] as { ended: number }).ended
  }
}
