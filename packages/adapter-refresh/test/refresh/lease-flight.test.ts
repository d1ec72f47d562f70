/**
 * Lease mode's flight (refresh/lease-flight.ts), branch by branch, with an in-memory AccountLeases that is a
 * FAKE for branch coverage only: it proves nothing across processes (the pg store's leases and the storms do).
 * Each test's control is noted beside it: the line of the flight that, removed, makes it fail.
 */
import { describe, expect, test } from "@jest/globals"
import { AbandonedWait } from "../../src/bounded-wait.js"
import { RefreshLeaseExpiredError, RefreshLockTimeoutError } from "../../src/errors.js"
import {
  leaseLengthMs,
  ProviderSlots,
  runLeaseFlight,
  type LeaseFlightSettings,
  type LeaseFlightSteps,
} from "../../src/refresh/lease-flight.js"
import { Semaphore } from "../../src/refresh/coordination.js"
import type { AccountKey, AccountLeases, HeldLease, LeaseTake, StoredAccountRow } from "../../src/store.js"

const key: AccountKey = { provider: "p", providerAccountId: "a" }
const settings: LeaseFlightSettings = { requestTimeoutMs: 1_000, leaseMarginMs: 500, waitBoundMs: 2_000, wait: true }

/** A fake lease store for branch coverage: one process, the test's own clock, a log of every call. */
class FakeLeasesForBranchCoverage implements AccountLeases {
  fence = 0
  holder: string | undefined
  until = 0
  log: string[] = []
  /** Overrides what `take` answers (e.g. a lease with little left); default: the real rule. */
  takeAnswer: ((durationMs: number) => LeaseTake | undefined) | undefined
  /** Every take answers "taken" with `remainingMs` left (and no rows). */
  takenWith(remainingMs: number): void {
    this.takeAnswer = () => ({
      taken: true,
      lease: { fence: "1", holder: "h" },
      remainingMs,
      rows: [],
      nowMs: this.nowMs,
    })
  }
  renewAnswer: { remainingMs: number } | null | undefined
  /** The key's rows every take brings. */
  rows: StoredAccountRow[] = [{ ...key, userId: "u", type: "oauth", tokens: { refresh_token: "R1" } }]
  readonly nowMs = 1_700_000_000_000

  take(_key: AccountKey, holder: string, durationMs: number): Promise<LeaseTake> {
    this.log.push("take")
    const seen = { rows: this.rows, nowMs: this.nowMs }
    const forced = this.takeAnswer?.(durationMs)
    if (forced) {
      if (forced.taken) this.holder = holder
      return Promise.resolve(forced)
    }
    const now = performance.now()
    if (this.holder !== undefined && this.until > now)
      return Promise.resolve({ taken: false, remainingMs: this.until - now, ...seen })
    this.fence++
    this.holder = holder
    this.until = now + durationMs
    const lease = { fence: String(this.fence), holder }
    return Promise.resolve({ taken: true, lease, remainingMs: durationMs, ...seen })
  }
  renew(_key: AccountKey, lease: HeldLease, durationMs: number): Promise<{ remainingMs: number } | null> {
    this.log.push("renew")
    if (this.renewAnswer !== undefined) return Promise.resolve(this.renewAnswer)
    if (lease.holder !== this.holder || lease.fence !== String(this.fence)) return Promise.resolve(null)
    this.until = performance.now() + durationMs
    return Promise.resolve({ remainingMs: durationMs })
  }
  release(_key: AccountKey, lease: HeldLease): Promise<void> {
    this.log.push("release")
    if (lease.holder === this.holder && lease.fence === String(this.fence)) this.holder = undefined
    return Promise.resolve()
  }
  /** Another process holds the key for `ms`. */
  heldElsewhere(ms: number): void {
    this.fence++
    this.holder = "other"
    this.until = performance.now() + ms
  }
}

type Answer = { ok: boolean }

/** Steps that log what they do; `send` runs `attempts` attempts, each after `beforeAttempt`. */
function stepsOf(
  leases: FakeLeasesForBranchCoverage,
  overrides: Partial<LeaseFlightSteps<string, Answer>> & { attempts?: number } = {},
): LeaseFlightSteps<string, Answer> & { sent: number } {
  const steps = {
    sent: 0,
    poll: () => {
      leases.log.push("poll")
      return Promise.resolve(undefined)
    },
    read: () => {
      leases.log.push("read")
      return Promise.resolve({ send: "R1" })
    },
    send: async (_token: string, beforeAttempt: (attempt: number) => Promise<void>) => {
      for (let attempt = 1; attempt <= (overrides.attempts ?? 1); attempt++) {
        await beforeAttempt(attempt)
        leases.log.push("send")
        steps.sent++
      }
      return { ok: true }
    },
    write: () => {
      leases.log.push("write")
      return Promise.resolve("written")
    },
    ...overrides,
  }
  return steps
}

describe("lease flight (with a fake AccountLeases for branch coverage)", () => {
  test("taken: read, send, write, then release, in that order; the lease lasts W + M + 2 s", async () => {
    const leases = new FakeLeasesForBranchCoverage()
    let asked = 0
    leases.takeAnswer = (durationMs) => {
      asked = durationMs
      return undefined
    }
    await expect(runLeaseFlight(leases, key, settings, stepsOf(leases))).resolves.toBe("written")
    // Control: move `await release()` before `steps.write` in runLeaseFlight: the order below changes.
    expect(leases.log).toEqual(["take", "read", "send", "write", "release"])
    expect(asked).toBe(leaseLengthMs(1_000, 500))
    expect(asked).toBe(3_500)
    expect(leases.holder).toBeUndefined()
  })

  test("a write that ended the lease in its own statement is not followed by a release; one that did not is", async () => {
    const leases = new FakeLeasesForBranchCoverage()
    const endedByWrite = stepsOf(leases, {
      write: (_answer, lease) => {
        leases.log.push("write and release")
        lease.released()
        return Promise.resolve("written")
      },
    })
    await expect(runLeaseFlight(leases, key, settings, endedByWrite)).resolves.toBe("written")
    // Control: ignore `released` in runLeaseFlight, and a "release" follows the write.
    expect(leases.log).toEqual(["take", "read", "send", "write and release"])
    leases.log.length = 0
    leases.holder = undefined
    await expect(runLeaseFlight(leases, key, settings, stepsOf(leases))).resolves.toBe("written")
    expect(leases.log).toEqual(["take", "read", "send", "write", "release"])
  })

  test("deadline rule: too little lease left for W + M, even after one renewal, sends nothing and releases", async () => {
    const leases = new FakeLeasesForBranchCoverage()
    // The store says 1,400 ms are left: less than W + M = 1,500; and again after the renewal.
    leases.takenWith(1_400)
    leases.renewAnswer = { remainingMs: 1_400 }
    const steps = stepsOf(leases)
    const failure = await runLeaseFlight(leases, key, settings, steps).catch((error: unknown) => error)
    // Control: remove the `remaining < requestTimeoutMs + leaseMarginMs` check: the request is sent.
    expect(failure).toBeInstanceOf(RefreshLeaseExpiredError)
    expect((failure as RefreshLeaseExpiredError).providerCalled).toBe(false)
    expect(steps.sent).toBe(0)
    expect(leases.log).toEqual(["take", "read", "renew", "release"])
  })

  test("a take that came back with less than the slack: one renewal before the first attempt, then it is sent", async () => {
    const leases = new FakeLeasesForBranchCoverage()
    // The take came back so late (a loaded database) that 1,400 ms are left (< W + M); the renewal gives the
    // lease its full length again.
    leases.takenWith(1_400)
    leases.renewAnswer = { remainingMs: 3_500 }
    const steps = stepsOf(leases)
    // Control: renew only when attempt > 1 in beforeAttempt: RefreshLeaseExpiredError, nothing sent (the
    // Prisma-on-MariaDB lease storm failed 75 of 100 callers so on a loaded machine).
    await expect(runLeaseFlight(leases, key, settings, steps)).resolves.toBe("written")
    expect(steps.sent).toBe(1)
    expect(leases.log).toEqual(["take", "read", "renew", "send", "write", "release"])
  })

  test("a take that came back with less than the slack and a renewal that finds the lease lost: nothing sent", async () => {
    const leases = new FakeLeasesForBranchCoverage()
    leases.takenWith(1_400)
    leases.renewAnswer = null
    const steps = stepsOf(leases)
    const failure = await runLeaseFlight(leases, key, settings, steps).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(RefreshLeaseExpiredError)
    expect((failure as RefreshLeaseExpiredError).providerCalled).toBe(false)
    expect(steps.sent).toBe(0)
  })

  test("the deadline counts from when TAKE resolved: a wait before it (the pool's) does not eat the lease", async () => {
    const leases = new FakeLeasesForBranchCoverage()
    const original = leases.take.bind(leases)
    // The take resolves 300 ms after it was called (a pool wait); the store, which counts from the send,
    // says 1,600 ms are left now.
    leases.take = async (...args) => {
      await new Promise((resolve) => setTimeout(resolve, 300))
      const took = await original(...args)
      return { ...took, remainingMs: 1_600 }
    }
    // The renewal a short lease asks for finds it lost: only the take's deadline decides.
    leases.renewAnswer = null
    const steps = stepsOf(leases)
    // 1,600 >= W + M = 1,500: sent. Control: count from before `leases.take` was called: 1,300 left, not sent.
    await expect(runLeaseFlight(leases, key, settings, steps)).resolves.toBe("written")
    expect(steps.sent).toBe(1)
  })

  test("READ and a waiter's poll decide on the rows and the store's clock the take brought", async () => {
    const leases = new FakeLeasesForBranchCoverage()
    const seen: { rows: StoredAccountRow[]; nowMs: number }[] = []
    const steps = stepsOf(leases, {
      poll: (look) => {
        seen.push(look)
        leases.log.push("poll")
        return Promise.resolve(undefined)
      },
      read: (look) => {
        seen.push(look)
        leases.log.push("read")
        return Promise.resolve({ send: "R1" })
      },
    })
    leases.heldElsewhere(150)
    await expect(runLeaseFlight(leases, key, settings, steps)).resolves.toBe("written")
    // Each poll round is one take (no read of its own); READ sends nothing either.
    expect(leases.log.filter((step) => step === "take").length).toBe(seen.length)
    for (const look of seen) {
      expect(look.rows).toBe(leases.rows)
      expect(look.nowMs).toBe(leases.nowMs)
    }
  })

  test("admission: a holder keeps its place to the end; a waiter gives it back while it waits", async () => {
    const leases = new FakeLeasesForBranchCoverage()
    const gate = new Semaphore(1)
    const admitted: string[] = []
    const admit = async (boundMs: number) => {
      const release = await gate.acquire(boundMs)
      admitted.push("in")
      return () => {
        admitted.push("out")
        release()
      }
    }
    leases.heldElsewhere(250)
    // A waiter (busy for 250 ms) and, meanwhile, a flight of another key that needs the one place.
    const other = new FakeLeasesForBranchCoverage()
    const waiting = runLeaseFlight(leases, key, { ...settings, admit }, stepsOf(leases))
    await new Promise((resolve) => setTimeout(resolve, 20))
    const started = performance.now()
    await expect(runLeaseFlight(other, key, { ...settings, admit }, stepsOf(other))).resolves.toBe("written")
    // Control: hold the place while waiting (drop `admitted?.()` after a busy take): the second flight waits
    // out the other holder's 250 ms.
    expect(performance.now() - started).toBeLessThan(200)
    await expect(waiting).resolves.toBe("written")
    expect(admitted.filter((step) => step === "in").length).toBe(admitted.filter((step) => step === "out").length)

    // A full admission past its bound is a refresh_slot timeout; nothing is taken.
    const release = await gate.acquire(10)
    const failing = runLeaseFlight(
      other,
      key,
      {
        ...settings,
        admissionBoundMs: 30,
        admit: (boundMs) =>
          gate.acquire(boundMs).catch(() => {
            throw new RefreshLockTimeoutError("p", boundMs, "refresh_slot")
          }),
      },
      stepsOf(other),
    )
    other.log = []
    await expect(failing).rejects.toBeInstanceOf(RefreshLockTimeoutError)
    expect(other.log).toEqual([])
    release()
  })

  test("a retry renews first; a renewal that finds the lease lost sends nothing more", async () => {
    const leases = new FakeLeasesForBranchCoverage()
    leases.renewAnswer = null
    const steps = stepsOf(leases, { attempts: 2 })
    const failure = await runLeaseFlight(leases, key, settings, steps).catch((error: unknown) => error)
    // Control: skip the renew in beforeAttempt: the second attempt is sent (sent === 2).
    expect(failure).toBeInstanceOf(RefreshLeaseExpiredError)
    expect((failure as RefreshLeaseExpiredError).providerCalled).toBe(true)
    expect(steps.sent).toBe(1)
    expect(leases.log).toEqual(["take", "read", "send", "renew", "release"])
  })

  test("a retry whose renewal succeeds is sent", async () => {
    const leases = new FakeLeasesForBranchCoverage()
    const steps = stepsOf(leases, { attempts: 2 })
    await expect(runLeaseFlight(leases, key, settings, steps)).resolves.toBe("written")
    expect(leases.log).toEqual(["take", "read", "send", "renew", "send", "write", "release"])
  })

  test("busy: wait, then one poll finds the other holder's fresh row, which is returned (nothing sent)", async () => {
    const leases = new FakeLeasesForBranchCoverage()
    leases.heldElsewhere(5_000)
    const steps = stepsOf(leases, {
      poll: () => {
        leases.log.push("poll")
        return Promise.resolve("the other's fresh row")
      },
    })
    const started = performance.now()
    await expect(runLeaseFlight(leases, key, settings, steps)).resolves.toBe("the other's fresh row")
    // Control: skip the poll (take again at once): the flight waits out the bound and throws instead.
    expect(leases.log).toEqual(["take", "poll"])
    expect(steps.sent).toBe(0)
    // The first pause is about 100 ms (±20 %), far below the other holder's 5 s.
    expect(performance.now() - started).toBeLessThan(1_000)
  })

  test("busy: the poll finds nothing done, the lease ends, the next take wins", async () => {
    const leases = new FakeLeasesForBranchCoverage()
    leases.heldElsewhere(150)
    const steps = stepsOf(leases)
    await expect(runLeaseFlight(leases, key, settings, steps)).resolves.toBe("written")
    expect(leases.log.filter((step) => step === "poll").length).toBeGreaterThanOrEqual(1)
    expect(leases.log.slice(-4)).toEqual(["read", "send", "write", "release"])
    expect(steps.sent).toBe(1)
  })

  test("busy past the bound: RefreshLockTimeoutError (lease), nothing sent after the bound", async () => {
    const leases = new FakeLeasesForBranchCoverage()
    leases.heldElsewhere(60_000)
    const steps = stepsOf(leases)
    const bound = 400
    const started = performance.now()
    const failure = await runLeaseFlight(leases, key, { ...settings, waitBoundMs: bound }, steps).catch(
      (error: unknown) => error,
    )
    const ended = performance.now()
    const logged = leases.log.length
    expect(failure).toBeInstanceOf(RefreshLockTimeoutError)
    expect((failure as RefreshLockTimeoutError).waitedFor).toBe("lease")
    expect(ended - started).toBeGreaterThanOrEqual(bound - 5)
    expect(ended - started).toBeLessThan(bound + 300)
    expect(steps.sent).toBe(0)
    // Nothing more is sent after the flight gave up. Control: drop the `left() <= 0` checks: it polls on.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(leases.log.length).toBe(logged)
  })

  test("take once (refreshExpiring): busy is a timeout at once, no wait, no poll", async () => {
    const leases = new FakeLeasesForBranchCoverage()
    leases.heldElsewhere(5_000)
    const failure = await runLeaseFlight(leases, key, { ...settings, wait: false }, stepsOf(leases)).catch(
      (error: unknown) => error,
    )
    expect(failure).toBeInstanceOf(RefreshLockTimeoutError)
    // One look at the rows the take brought (no statement), no wait. Control: ignore `settings.wait`: more takes.
    expect(leases.log).toEqual(["take", "poll"])
  })

  test("READ finds nothing to do (fresh, refused, not linked): release, return, nothing sent", async () => {
    const leases = new FakeLeasesForBranchCoverage()
    const steps = stepsOf(leases, {
      read: () => Promise.resolve({ finish: "fresh already" }),
    })
    await expect(runLeaseFlight(leases, key, settings, steps)).resolves.toBe("fresh already")
    expect(leases.log).toEqual(["take", "release"])
    expect(leases.holder).toBeUndefined()
  })

  test("an abandoned flight (every caller left before the send) releases and sends nothing", async () => {
    const leases = new FakeLeasesForBranchCoverage()
    const abandonment = new AbortController()
    const steps = stepsOf(leases, {
      read: () => {
        leases.log.push("read")
        abandonment.abort() // the callers' bound passes while READ runs
        return Promise.resolve({ send: "R1" })
      },
    })
    const failure = await runLeaseFlight(leases, key, settings, steps, abandonment.signal).catch(
      (error: unknown) => error,
    )
    // Control: drop the `signal?.aborted` check in beforeAttempt: the request is sent.
    expect(failure).toBeInstanceOf(AbandonedWait)
    expect(steps.sent).toBe(0)
    expect(leases.log).toEqual(["take", "read", "release"])
  })

  test("a failed READ releases; a failed WRITE leaves the lease to end (the answer is kept elsewhere)", async () => {
    const leases = new FakeLeasesForBranchCoverage()
    const readFails = stepsOf(leases, { read: () => Promise.reject(new Error("connection lost")) })
    await expect(runLeaseFlight(leases, key, settings, readFails)).rejects.toThrow("connection lost")
    expect(leases.log).toEqual(["take", "release"])

    leases.log = []
    const writeFails = stepsOf(leases, { write: () => Promise.reject(new Error("write refused")) })
    await expect(runLeaseFlight(leases, key, settings, writeFails)).rejects.toThrow("write refused")
    expect(leases.log).toEqual(["take", "read", "send"])
    expect(leases.holder).not.toBeUndefined()
  })

  describe("a request unanswered at W (lateAnswerMs)", () => {
    /** A send that, after its first attempt is cleared, asks `lateAnswer` `times` times, as the provider does at W. */
    const askingLate = (leases: FakeLeasesForBranchCoverage, answers: number[], times: number) =>
      stepsOf(leases, {
        send: async (_token, beforeAttempt, lateAnswer) => {
          await beforeAttempt(1)
          leases.log.push("send")
          for (let asked = 0; asked < times; asked++) answers.push(await lateAnswer())
          return { ok: true }
        },
      })

    test("renews the lease and grants a wait that ends before the renewed lease less M", async () => {
      const leases = new FakeLeasesForBranchCoverage()
      const answers: number[] = []
      const late = { ...settings, lateAnswerMs: 10_000 }
      await expect(runLeaseFlight(leases, key, late, askingLate(leases, answers, 1))).resolves.toBe("written")
      // Control: make lateAnswer return 0 before the renewal: no renew in the log, answers [0].
      expect(leases.log).toEqual(["take", "read", "send", "renew", "write", "release"])
      // The renewed lease is W + M + 2 s = 3.5 s; the wait ends M = 0.5 s before it.
      expect(answers[0]).toBeGreaterThan(2_900)
      expect(answers[0]).toBeLessThanOrEqual(3_000)
    })

    test("never past lateAnswerMs in all: the budget counts from the first ask", async () => {
      const leases = new FakeLeasesForBranchCoverage()
      const answers: number[] = []
      const late = { ...settings, lateAnswerMs: 300 }
      await runLeaseFlight(leases, key, late, askingLate(leases, answers, 1))
      // Control: drop `lateUntil` from the Math.min: the answer is the lease's ~3,000 ms.
      expect(answers[0]).toBeGreaterThan(200)
      expect(answers[0]).toBeLessThanOrEqual(300)
    })

    test("lateAnswerMs 0 (or absent): abandoned at W, no renewal", async () => {
      const leases = new FakeLeasesForBranchCoverage()
      const answers: number[] = []
      await runLeaseFlight(leases, key, settings, askingLate(leases, answers, 1))
      expect(answers).toEqual([0])
      // Control: default lateAnswerMs to 10 s in the flight: a renew appears and the answer is > 0.
      expect(leases.log).not.toContain("renew")
    })

    test("a lease no longer ours (the renewal refused): abandoned at once", async () => {
      const leases = new FakeLeasesForBranchCoverage()
      leases.renewAnswer = null
      const answers: number[] = []
      await runLeaseFlight(leases, key, { ...settings, lateAnswerMs: 10_000 }, askingLate(leases, answers, 1))
      // Control: ignore the renewal's answer (`if (!renewed) return 0` removed): the flight throws a TypeError.
      expect(answers).toEqual([0])
    })

    test("a renewal that does not answer is not waited for past the lease less M/2", async () => {
      const leases = new FakeLeasesForBranchCoverage()
      // The lease has 100 ms more than W + M; the store never answers the renewal.
      leases.takenWith(1_000 + 500 + 100)
      leases.renew = () => {
        leases.log.push("renew")
        return new Promise(() => undefined)
      }
      const answers: number[] = []
      const started = performance.now()
      await runLeaseFlight(leases, key, { ...settings, lateAnswerMs: 10_000 }, askingLate(leases, answers, 1))
      // Control: await the renewal alone (no race with the lease's end): the test times out.
      expect(answers).toEqual([0])
      expect(performance.now() - started).toBeLessThan(1_500)
    })
  })
})

describe("a lease kept after a failed write (fake AccountLeases for branch coverage)", () => {
  test("the failed write hands the lease out; the next flight of this process renews it instead of waiting", async () => {
    const leases = new FakeLeasesForBranchCoverage()
    let kept: HeldLease | undefined
    const keep = (held: HeldLease) => void (kept = held)
    const failing = stepsOf(leases, { write: () => Promise.reject(new Error("write refused")) })
    await expect(runLeaseFlight(leases, key, settings, failing, undefined, { keep })).rejects.toThrow("write refused")
    expect(kept).toBeDefined()
    expect(leases.holder).toBe(kept!.holder) // still held: no other process sends the consumed token

    leases.log = []
    const next = stepsOf(leases)
    await expect(runLeaseFlight(leases, key, settings, next, undefined, { resume: kept })).resolves.toBe("written")
    // Control: ignore `resume`: the take finds the (own) lease busy and the flight waits out its bound.
    expect(leases.log).toEqual(["renew", "take", "read", "send", "write", "release"])
  })

  test("a kept lease that is no longer ours (it ended, another process took it) is not used", async () => {
    const leases = new FakeLeasesForBranchCoverage()
    const stale: HeldLease = { fence: "7", holder: "gone" }
    await expect(runLeaseFlight(leases, key, settings, stepsOf(leases), undefined, { resume: stale })).resolves.toBe(
      "written",
    )
    expect(leases.log).toEqual(["renew", "take", "read", "send", "write", "release"])
  })
})

describe("ProviderSlots (refresh.providerConcurrency)", () => {
  test("at most n of a provider at once; a wait past queueTimeoutMs is a provider_slot timeout", async () => {
    const slots = new ProviderSlots({ slow: 1 })
    let release!: () => void
    const first = slots.run("slow", 1_000, () => new Promise<void>((resolve) => (release = resolve)))
    const second = slots.run("slow", 50, () => Promise.resolve("ran")).catch((error: unknown) => error)
    const failure = await second
    expect(failure).toBeInstanceOf(RefreshLockTimeoutError)
    expect((failure as RefreshLockTimeoutError).waitedFor).toBe("provider_slot")
    // Other providers have no limit.
    await expect(slots.run("other", 1, () => Promise.resolve("free"))).resolves.toBe("free")
    release()
    await first
    await expect(slots.run("slow", 50, () => Promise.resolve("ran"))).resolves.toBe("ran")
  })
})
