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
}
export interface FleetOutcome {
  invocations: number
  ok: number
  tooMany: number
  otherErrors: { code?: string; sqlState?: string; message: string }[]
  peakConnections: number
  ms: number
}
export function prepareFleetRole(role: string, cap: number, password?: string): Promise<string>
export function dropFleetRole(role: string): Promise<void>
export function runFleet(options: FleetOptions): Promise<FleetOutcome>
