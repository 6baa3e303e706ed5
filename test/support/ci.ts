// Whether the tests run under CI, where a missing database server fails a suite instead of skipping
// it. CI systems set CI to "true", "1", "yes" or their own name: any non-empty value counts, except
// "false" and "0" (any case, surrounding spaces ignored), which say explicitly that this is not CI.

export function underCi(env: Record<string, string | undefined> = process.env): boolean {
  const value = env.CI?.trim().toLowerCase()
  return value !== undefined && value !== '' && value !== 'false' && value !== '0'
}
