// Shared by the runtime tests: each builds the platform bundles it runs into its own temporary
// directory (test files run in parallel and must not overwrite each other's bundles).
import { pathToFileURL } from 'node:url'
import type { Metafile } from 'esbuild'
import { buildFunction, targets, type BuildOverrides } from '../../scripts/build-functions.mjs'
import { tempDir } from '../support/tmp.js'

export { buildFunction, targets }
export type TargetName = keyof typeof targets

/** A temporary directory for one test file's bundles. */
export function bundleDir(prefix: string) {
  const dir = tempDir(`lazydb-${prefix}-`)
  return {
    ...dir,
    /** Builds target `name` into this directory and returns the bundle's path. */
    async build(name: TargetName | string, file: string, overrides: BuildOverrides = {}): Promise<string> {
      const out = dir.file(file)
      await buildFunction(name, { ...overrides, out, metafilePath: false })
      return out
    },
  }
}

/** Imports a built ESM bundle; `instance` gives a separate module instance of the same file. */
export async function importBundle<T>(path: string, instance?: string): Promise<T> {
  const url = pathToFileURL(path).href + (instance === undefined ? '' : `?instance=${encodeURIComponent(instance)}`)
  return (await import(/* @vite-ignore */ url)) as T
}

/** The package names (`@scope/name` or `name`) a metafile's inputs come from. */
export function packagesIn(metafile: Metafile): string[] {
  const names = new Set<string>()
  for (const input of Object.keys(metafile.inputs)) {
    const at = input.lastIndexOf('node_modules/')
    if (at < 0) continue
    const parts = input.slice(at + 'node_modules/'.length).split('/')
    names.add(parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!)
  }
  return [...names].sort()
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Settles with the promise's value, or with `timedOut` after `ms`. */
export function withTimeout<T, U>(promise: Promise<T>, ms: number, timedOut: U): Promise<T | U> {
  let timer: ReturnType<typeof setTimeout> | undefined
  return Promise.race([promise, new Promise<U>((resolve) => (timer = setTimeout(resolve, ms, timedOut)))]).finally(() =>
    clearTimeout(timer),
  )
}
