/**
 * A conformance-kit worker process for the "leases" section: builds the cell's fixture and the store
 * `withTokenSync` detects for it, waits for the common "go" (runBarrierWorker), then takes leases in rounds
 * on a fixed schedule counted from its "go" (so the processes' rounds start together), each round on its own
 * key, and reports every take's outcome. With `clockShiftMs` its `Date.now()` and `new Date()` are shifted
 * before anything is built, to show that nothing of the store's lease decisions reads the process's clock.
 */
import { pathToFileURL } from "node:url"
import { withTokenSync } from "authjs-adapter-refresh"
import { errorLabel, runBarrierWorker } from "./barrier-worker.js"
import type { ConformanceFixtureModule } from "./fixture.js"
import type { LeaseOutcome, LeaseWorkerConfig } from "./worker-protocol.js"

const config = JSON.parse(process.argv[2] ?? "{}") as LeaseWorkerConfig
/** The host's clock, which a shifted `Date` does not touch (timeOrigin is read once at process start). */
const wallClock = (): number => performance.timeOrigin + performance.now()

if (config.clockShiftMs) {
  const shift = config.clockShiftMs
  const RealDate = Date
  const realNow = RealDate.now.bind(RealDate)
  class ShiftedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(realNow() + shift)
      else super(...(args as [string | number | Date]))
    }
    static override now(): number {
      return realNow() + shift
    }
  }
  globalThis.Date = ShiftedDate as DateConstructor
}

const sleepUntil = (at: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, at - wallClock())))

await runBarrierWorker(
  async () => {
    const moduleUrl = config.fixtureModule.startsWith("file:")
      ? config.fixtureModule
      : pathToFileURL(config.fixtureModule).href
    const fixture = await ((await import(moduleUrl)) as ConformanceFixtureModule).createFixture(config.databaseUrl)
    const leases = withTokenSync(fixture.adapter, fixture.db).accountStore.leases
    if (!leases) throw new Error("the store has no leases")
    // Open connections before the burst, so the burst measures the takes, not connecting.
    await Promise.all(Array.from({ length: 3 }, () => fixture.accountRows({ provider: "-", providerAccountId: "-" })))
    return { fixture, leases }
  },
  async ({ leases }) => {
    const start = wallClock() + config.startDelayMs
    const outcomes: LeaseOutcome[] = []
    for (const [round, key] of config.keys.entries()) {
      await sleepUntil(start + round * config.roundSpacingMs)
      const takes = Array.from({ length: config.takesPerRound }, async (_, index): Promise<LeaseOutcome> => {
        const holder = `${process.pid}-${round}-${index}-${Math.random().toString(36).slice(2, 10)}`
        const startedAt = wallClock()
        try {
          const take = await leases.take(key, holder, config.durationMs)
          return {
            round,
            taken: take.taken,
            fence: take.taken ? take.lease.fence : undefined,
            remainingMs: take.remainingMs,
            startedAt,
            endedAt: wallClock(),
          }
        } catch (error) {
          return { round, taken: false, remainingMs: null, error: errorLabel(error), startedAt, endedAt: wallClock() }
        }
      })
      outcomes.push(...(await Promise.all(takes)))
    }
    return outcomes
  },
  ({ fixture }) => fixture.close(),
)
