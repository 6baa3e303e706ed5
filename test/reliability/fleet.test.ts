// The fleet simulation, small (bench/rows/fleet.mjs runs the large one): 16 Lambda-like instances,
// frozen between invocations, against PostgreSQL through a role capped at 6 connections. The
// hand-written module-scope pool runs first and must hit "too many connections" (the premise); lazydb
// with its Lambda defaults plus the reaper must let none reach user code.
import { afterAll, describe, expect, it } from 'vitest'
import { dropFleetRole, prepareFleetRole, runFleet } from '../../bench/lib/fleet.mjs'
import { requirePostgres } from '../support/postgres.js'

const pgUp = await requirePostgres()
const ROLE = `lazydb_fleet_t${process.pid}`
const CAP = 6
const FLEET = { role: ROLE, instances: 16, invocations: 240, maxBurst: 5, seed: 7, deadlineMs: 40_000 }

describe.skipIf(!pgUp)('fleet: 16 frozen-and-thawed instances, a role capped at 6 connections', () => {
  afterAll(async () => {
    await dropFleetRole(ROLE)
  })

  it('the module-scope pool gets "too many connections"; lazydb with the reaper lets none reach the user', async () => {
    const baseline = await runFleet({ ...FLEET, mode: 'baseline', url: await prepareFleetRole(ROLE, CAP) })
    console.log(`[fleet] baseline: ${JSON.stringify({ ...baseline, otherErrors: baseline.otherErrors.length })}`)
    expect(baseline.tooMany).toBeGreaterThan(0)
    const lazydb = await runFleet({ ...FLEET, mode: 'lazydb', url: await prepareFleetRole(ROLE, CAP) })
    console.log(`[fleet] lazydb: ${JSON.stringify(lazydb)}`)
    expect(lazydb.invocations).toBe(FLEET.invocations)
    expect(lazydb.tooMany).toBe(0)
    expect(lazydb.otherErrors).toEqual([])
    expect(lazydb.peakConnections).toBeLessThanOrEqual(CAP)
  }, 90_000)
})
