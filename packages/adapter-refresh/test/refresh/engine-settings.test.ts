/**
 * The engine's settings (refresh/engine-settings.ts): the defaults, "0 means the default" for the waits, and
 * the bounds derived from them, which must outlive every attempt under the lock.
 */
import { describe, expect, test } from "@jest/globals"
import { engineSettingsOf } from "../../src/refresh/engine-settings.js"

describe("engine settings", () => {
  test("defaults", () => {
    const settings = engineSettingsOf({ providers: [] })
    expect(settings).toMatchObject({
      skewSeconds: 60,
      minRefreshIntervalSeconds: 60,
      lockTimeoutMs: 10_000,
      requestTimeoutMs: 10_000,
      maxConcurrentRefreshes: 4,
      queueTimeoutMs: 30_000,
      retries: 2,
      backoffMs: 200,
      reauthColumn: undefined,
      leaseSettings: { requestTimeoutMs: 10_000, leaseMarginMs: 5_000, lateAnswerMs: 20_000, statementSlots: 4 },
      startBoundMs: 20_000,
      refusedTokenIntervalMs: 30_000,
    })
    // 10 s lock wait + 3 attempts of 10 s + 200 * 2^3 ms backoff + 5 s margin.
    expect(settings.transactionTimeoutMs).toBe(10_000 + 30_000 + 1_600 + 5_000)
    expect(settings.lockOptions).toEqual({ lockTimeoutMs: 10_000, transactionTimeoutMs: 46_600 })
  })

  test("0 means the default for the waits and the cap, but is kept for skew, retries, backoff and the interval", () => {
    const settings = engineSettingsOf({
      providers: [],
      skewSeconds: 0,
      minRefreshIntervalSeconds: 0,
      lockTimeoutMs: 0,
      requestTimeoutMs: 0,
      maxConcurrentRefreshes: 0,
      queueTimeoutMs: 0,
      retries: 0,
      backoffMs: 0,
      refusedTokenIntervalSeconds: 0,
      leaseMarginMs: 0,
    })
    expect(settings).toMatchObject({
      skewSeconds: 0,
      minRefreshIntervalSeconds: 0,
      lockTimeoutMs: 10_000,
      requestTimeoutMs: 10_000,
      maxConcurrentRefreshes: 4,
      queueTimeoutMs: 30_000,
      retries: 0,
      backoffMs: 0,
      refusedTokenIntervalMs: 0,
      leaseSettings: { requestTimeoutMs: 10_000, leaseMarginMs: 0, lateAnswerMs: 20_000, statementSlots: 4 },
    })
    expect(settings.transactionTimeoutMs).toBe(10_000 + 10_000 + 0 + 5_000)
  })

  test("lateAnswerMs: twice the request's bound by default, and 0 is kept (abandon at the bound)", () => {
    const base = { providers: [], requestTimeoutMs: 3_000 }
    expect(engineSettingsOf(base).leaseSettings.lateAnswerMs).toBe(6_000)
    expect(engineSettingsOf({ ...base, lateAnswerMs: 0 }).leaseSettings.lateAnswerMs).toBe(0)
    expect(engineSettingsOf({ ...base, lateAnswerMs: 1_500 }).leaseSettings.lateAnswerMs).toBe(1_500)
  })

  test("the transaction outlives the lock wait plus every attempt and backoff; the start bound is twice the lock's", () => {
    const options = { providers: [], lockTimeoutMs: 2_000, requestTimeoutMs: 3_000, retries: 4, backoffMs: 100 }
    const settings = engineSettingsOf({ ...options, reauthColumn: "reauth" })
    const attempts = options.retries + 1
    const backoffs = options.backoffMs * 2 ** attempts
    expect(settings.transactionTimeoutMs).toBe(2_000 + attempts * 3_000 + backoffs + 5_000)
    expect(settings.transactionTimeoutMs).toBeGreaterThan(options.lockTimeoutMs + attempts * options.requestTimeoutMs)
    expect(settings.startBoundMs).toBe(4_000)
    expect(settings.lockOptions.lockTimeoutMs).toBe(2_000)
    expect(settings.reauthColumn).toBe("reauth")
  })
})
