// Statistics for paired measurements: spread, geometric mean, a seeded bootstrap confidence interval
// that respects sessions (clusters), and the three-way verdict a target gets from an interval.

/** Linear-interpolation quantile (q in 0..1) of the values. */
export function quantile(values, q) {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const at = q * (sorted.length - 1)
  const low = Math.floor(at)
  const high = Math.min(sorted.length - 1, low + 1)
  return sorted[low] + (sorted[high] - sorted[low]) * (at - low)
}

export const mean = (values) => values.reduce((sum, x) => sum + x, 0) / values.length

/** Sample standard deviation. */
export function sd(values) {
  if (values.length < 2) return NaN
  const m = mean(values)
  return Math.sqrt(values.reduce((sum, x) => sum + (x - m) ** 2, 0) / (values.length - 1))
}

export const geomean = (values) => Math.exp(mean(values.map(Math.log)))

/** min, p25, median, p75, max and sd of the values. */
export function spread(values) {
  return {
    n: values.length,
    min: Math.min(...values),
    p25: quantile(values, 0.25),
    median: quantile(values, 0.5),
    p75: quantile(values, 0.75),
    max: Math.max(...values),
    sd: sd(values),
  }
}

/** A small seeded PRNG (mulberry32): the same seed gives the same interval on every run. */
export function seededRandom(seed) {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const pick = (values, random) => values[Math.floor(random() * values.length)]

/**
 * Percentile bootstrap interval of `statistic` over grouped values (e.g. paired ratios grouped by the
 * session of fresh processes they came from). Two stages: resample the groups with replacement, then
 * the values within each chosen group, so luck shared within a session widens the interval instead of
 * passing for precision. With one group it is the ordinary bootstrap.
 */
export function bootstrapInterval(groups, statistic, { resamples = 10_000, level = 0.95, seed = 1 } = {}) {
  const random = seededRandom(seed)
  const estimates = []
  for (let b = 0; b < resamples; b++) {
    const sample = []
    for (let g = 0; g < groups.length; g++) {
      const group = pick(groups, random)
      for (let i = 0; i < group.length; i++) sample.push(pick(group, random))
    }
    estimates.push(statistic(sample))
  }
  const tail = (1 - level) / 2
  return { low: quantile(estimates, tail), high: quantile(estimates, 1 - tail), level, resamples, seed }
}

/**
 * 'pass' when the whole interval clears the target (low >= target), 'fail' when it all misses
 * (high < target), otherwise 'inconclusive'.
 */
export function verdictAtLeast(interval, target) {
  if (interval.low >= target) return 'pass'
  if (interval.high < target) return 'fail'
  return 'inconclusive'
}

/**
 * For an upper bound (a ratio that must stay at or under `target`): 'pass' when the whole interval
 * does (high <= target), 'fail' when none of it does (low > target), otherwise 'inconclusive'.
 */
export function verdictAtMost(interval, target) {
  if (interval.high <= target) return 'pass'
  if (interval.low > target) return 'fail'
  return 'inconclusive'
}

/** Combines verdicts: any 'fail' fails, then any 'inconclusive' is inconclusive, else 'pass'. */
export function combineVerdicts(verdicts) {
  if (verdicts.includes('fail')) return 'fail'
  return verdicts.includes('inconclusive') ? 'inconclusive' : 'pass'
}
