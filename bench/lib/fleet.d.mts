// Types for bench/lib/fleet.mjs, which the fleet test imports.
export interface FleetOptions {
  mode: 'lazydb' | 'baseline'
  url: string
  role: string
  instances: number
  invocations: number
  maxBurst: number
  seed?: number
  deadlineMs?: number
  /** pg (a Postgres role with CONNECTION LIMIT) or mysql2 (a MariaDB user with MAX_USER_CONNECTIONS). */
  driver?: 'pg' | 'mysql2'
}
export interface FleetOutcome {
  invocations: number
  ok: number
  tooMany: number
  otherErrors: { code?: string; sqlState?: string; errno?: number; message: string }[]
  peakConnections: number
  ms: number
}
export function prepareFleetRole(
  role: string,
  cap: number,
  password?: string,
  driver?: 'pg' | 'mysql2',
): Promise<string>
export function dropFleetRole(role: string, driver?: 'pg' | 'mysql2'): Promise<void>
export function runFleet(options: FleetOptions): Promise<FleetOutcome>
