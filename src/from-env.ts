// Registry.fromEnv and its cache: DATABASE_URL and DATABASE_URL_<NAME> make a registry, and equal
// values give back the same one. The cache lives on globalThis behind a function, keyed by a hash:
// `inspect(globalThis)` shows neither a URL nor a registry.
import { configError, describeValue, isOptionsObject } from './errors.js'
import { hash128 } from './hash.js'
import { type ConnectionStringBinding, isConnectionStringBinding } from './hyperdrive.js'
import { checkEnvSource } from './options.js'
import type { Registry, RegistryOptions } from './registry.js'

type FromEnvCache = (key: string, build: () => Registry) => Registry

const KEY = Symbol.for('lazydb.from-env@3')
const g = globalThis as Record<symbol, unknown>
const cached = (g[KEY] as FromEnvCache | undefined) ?? createCache()
g[KEY] = cached

function createCache(): FromEnvCache {
  const registries = new Map<string, Registry>()
  return (key, build) => {
    let registry = registries.get(key)
    if (registry === undefined) registries.set(key, (registry = build()))
    return registry
  }
}

const VARIABLE = /^DATABASE_URL(_[A-Z0-9_]+)?$/
const BINDING = /^HYPERDRIVE(_[A-Z0-9_]+)?$/

export function registryFromEnv(
  env: object | undefined,
  options: Omit<RegistryOptions, 'database' | 'extra'>,
  create: (options: RegistryOptions) => Registry,
): Registry {
  const source = checkEnvSource(env)
  if (!isOptionsObject(options)) {
    throw configError(
      undefined,
      `Registry.fromEnv() options must be an object (got ${describeValue(options)})`,
      'Pass Registry.fromEnv(env, { warn: false }) or leave them out',
    )
  }
  const found: [string, string][] = []
  /** The binding behind a variable, passed on as it is so the database knows Hyperdrive fronts it. */
  const bindings = new Map<string, ConnectionStringBinding>()
  const hyperdrive = new Map<string, ConnectionStringBinding>()
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined) continue
    if (BINDING.test(key) && isConnectionStringBinding(value)) {
      hyperdrive.set(key === 'HYPERDRIVE' ? 'DATABASE_URL' : `DATABASE_URL${key.slice('HYPERDRIVE'.length)}`, value)
      continue
    }
    if (!VARIABLE.test(key)) continue
    const alias = key === 'DATABASE_URL' ? 'default' : key.slice('DATABASE_URL_'.length).toLowerCase()
    if (value === '') throw configError(alias, `${key} is empty`, `Set ${key} to the connection URL, or unset it`)
    if (isConnectionStringBinding(value)) {
      bindings.set(key, value)
      found.push([key, value.connectionString])
      continue
    }
    if (typeof value !== 'string') {
      throw configError(
        alias,
        `${key} must be a URL string or a Hyperdrive binding (got ${describeValue(value)})`,
        `Set ${key} to the connection URL (file:…, postgres://…, mysql://…), or remove it`,
      )
    }
    found.push([key, value])
  }
  // A Hyperdrive binding named HYPERDRIVE (HYPERDRIVE_<NAME>) stands for DATABASE_URL (_<NAME>) when that is unset.
  for (const [key, binding] of hyperdrive) {
    if (found.some(([name]) => name === key)) continue
    bindings.set(key, binding)
    found.push([key, binding.connectionString])
  }
  found.sort((a, b) => (a[0] < b[0] ? -1 : 1))
  let key: string
  try {
    key = hash128(JSON.stringify([found, options]))
  } catch (error) {
    throw configError(
      undefined,
      `Registry.fromEnv() options must be plain data besides the hooks (${(error as Error).message})`,
      'Pass numbers, strings and booleans, e.g. { retry: { attempts: 3 } }',
    )
  }
  return cached(key, () => {
    const main = found.find(([name]) => name === 'DATABASE_URL')
    if (main === undefined)
      throw configError(
        'default',
        'DATABASE_URL is not set',
        'Set DATABASE_URL (e.g. file:.data/app.db, postgres://…, mysql://…)',
      )
    const extra: Record<string, string | ConnectionStringBinding> = {}
    for (const [name, value] of found) {
      if (name !== 'DATABASE_URL') extra[name.slice('DATABASE_URL_'.length).toLowerCase()] = bindings.get(name) ?? value
    }
    return create({ ...options, database: bindings.get('DATABASE_URL') ?? main[1], extra })
  })
}
