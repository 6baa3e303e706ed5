// Row 7: the fleet. 50 Lambda-like instances, frozen between invocations, against PostgreSQL through a
// role with CONNECTION LIMIT 20 (and MariaDB through a user with MAX_USER_CONNECTIONS 20), invocations in
// bursts of 1–25: how many "too many connections" errors reach user code with the hand-written
// module-scope pool (max 1) and with lazydb's Lambda defaults plus the reaper, measured in the same run,
// each with a fresh role or user (bench/lib/fleet.mjs).
import { dropFleetRole, prepareFleetRole, runFleet } from '../lib/fleet.mjs'
import { QUICK, row } from '../lib/util.mjs'

const ROLE = 'lazydb_bench_fleet'
const CAP = 20
const FLEET = { instances: 50, invocations: QUICK ? 300 : 1500, maxBurst: 25, seed: 42 }

async function fleetRow(driver) {
  const role = `${ROLE}_${driver}`
  try {
    const fleet = { ...FLEET, role, driver }
    const baseline = await runFleet({
      ...fleet,
      mode: 'baseline',
      url: await prepareFleetRole(role, CAP, undefined, driver),
    })
    const lazydb = await runFleet({
      ...fleet,
      mode: 'lazydb',
      url: await prepareFleetRole(role, CAP, undefined, driver),
    })
    const summary = (o) => ({ ...o, otherErrors: o.otherErrors.length, firstOtherError: o.otherErrors[0] })
    const server =
      driver === 'pg' ? `PostgreSQL role CONNECTION LIMIT ${CAP}` : `MariaDB user MAX_USER_CONNECTIONS ${CAP}`
    return row({
      id: `7-fleet-${driver}`,
      name:
        `Fleet: ${FLEET.instances} frozen/thawed instances, ${server}, ` +
        `${FLEET.invocations} invocations in bursts of 1–${FLEET.maxBurst} (${driver})`,
      baseline: `module-scope ${driver} pool (max 1) per instance`,
      measured: { lazydb: summary(lazydb), baseline: summary(baseline) },
      target: '0 "too many connections" and 0 other errors reach user code (lazydb defaults + reaper)',
      pass: lazydb.tooMany === 0 && lazydb.otherErrors.length === 0 && lazydb.invocations === FLEET.invocations,
    })
  } finally {
    await dropFleetRole(role, driver)
  }
}

export async function run() {
  return [await fleetRow('pg'), await fleetRow('mysql2')]
}
