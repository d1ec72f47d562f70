/**
 * Latency comparisons measured in one run: the calls take turns, round after round, so that whatever the
 * shared machine does meanwhile weighs on each of them alike.
 */
import { percentile } from "./run-storm.js"

export interface TimedCall {
  call: () => Promise<unknown>
  /** Time this many calls together and report the mean per call (for calls below the clock's resolution). Default 1. */
  batch?: number
}

/** After `warmup` untimed rounds, `rounds` timed ones; the median per call of each, in ms, in the order given. */
export async function interleavedMedians<const C extends readonly TimedCall[]>(
  rounds: number,
  warmup: number,
  calls: C,
): Promise<{ [K in keyof C]: number }> {
  for (let i = 0; i < warmup; i++) for (const { call } of calls) await call()
  const times = calls.map((): number[] => [])
  for (let i = 0; i < rounds; i++) {
    for (const [k, { call, batch = 1 }] of calls.entries()) {
      const started = performance.now()
      for (let j = 0; j < batch; j++) await call()
      times[k]!.push((performance.now() - started) / batch)
    }
  }
  return times.map((samples) => percentile(samples, 50)) as { [K in keyof C]: number }
}
