/**
 * The account flights (refresh/account-flights.ts) on real `SingleFlight`s, with starts that are promises the
 * test settles: callers share a flight, a caller that joined a flight with a shorter lock bound waits again
 * with its own, and a refused token's flight never returns the refused token. No database, no provider.
 */
import { describe, expect, test } from "@jest/globals"
import type { AdapterAccount } from "../../src/authjs-types.js"
import { AccessTokenRefusedError, RefreshLockTimeoutError } from "../../src/errors.js"
import { AccountFlights } from "../../src/refresh/account-flights.js"
import type { AccessTokenResult, RefreshMode } from "../../src/refresh/engine-types.js"
import { RefusedTokenInterval, type RefusedContext } from "../../src/refresh/refused-token.js"

const resultOf = (accessToken: string): AccessTokenResult => ({
  accessToken,
  account: {} as AdapterAccount,
  refreshed: true,
})
const mode = { done: () => false, leaseWait: true } as unknown as RefreshMode
const refusalOf = (refused: string): RefusedContext => ({
  id: "a",
  provider: "acme",
  refused,
  interval: new RefusedTokenInterval(30_000, Date.now),
  freshTokens: () => true,
})

/** A start the test settles, counting how often it was called. */
function deferredStarts() {
  const pending: { resolve(result: AccessTokenResult): void; reject(error: unknown): void }[] = []
  return {
    pending,
    start: () => new Promise<AccessTokenResult>((resolve, reject) => void pending.push({ resolve, reject })),
  }
}

describe("AccountFlights", () => {
  test("callers of one account share a flight; another account has its own", async () => {
    const flights = new AccountFlights(1_000)
    const { pending, start } = deferredStarts()
    const first = flights.onDemand("a", start)
    const second = flights.onDemand("a", start)
    const other = flights.onDemand("b", start)
    expect(pending).toHaveLength(2)
    pending[0]!.resolve(resultOf("t1"))
    pending[1]!.resolve(resultOf("t2"))
    expect((await first).accessToken).toBe("t1")
    expect((await second).accessToken).toBe("t1")
    expect((await other).accessToken).toBe("t2")
  })

  test("a caller that joined a background flight with a shorter lock bound waits again with its own", async () => {
    const flights = new AccountFlights(1_000)
    const { pending, start } = deferredStarts()
    const background = flights.run("a", 10, start)
    const onDemand = flights.onDemand("a", start)
    pending[0]!.reject(new RefreshLockTimeoutError("acme", 10, "lock"))
    await expect(background).rejects.toThrow(RefreshLockTimeoutError)
    await new Promise((resolve) => setImmediate(resolve))
    expect(pending).toHaveLength(2)
    pending[1]!.resolve(resultOf("t1"))
    expect((await onDemand).accessToken).toBe("t1")
  })

  test("a slot wait, or a lock wait of our own bound, ends the call", async () => {
    const flights = new AccountFlights(1_000)
    const slot = flights.run("a", 10, () => Promise.reject(new RefreshLockTimeoutError("acme", 10, "refresh_slot")))
    const joined = flights.onDemand("a", () => Promise.resolve(resultOf("never")))
    await expect(slot).rejects.toThrow(RefreshLockTimeoutError)
    await expect(joined).rejects.toMatchObject({ waitedFor: "refresh_slot" })
    let starts = 0
    const own = flights.onDemand("b", () => {
      starts++
      return Promise.reject(new RefreshLockTimeoutError("acme", 1_000, "lock"))
    })
    await expect(own).rejects.toMatchObject({ waitedFor: "lock" })
    expect(starts).toBe(1)
  })

  test("shorter bounds that keep failing: three tries, then the error (every wait bounded)", async () => {
    const flights = new AccountFlights(1_000)
    // Short flights one after another: each failure starts the next before the on-demand caller tries again.
    let shortFlights = 0
    const startShort = (): void => {
      shortFlights++
      const failing = () => Promise.reject(new RefreshLockTimeoutError("acme", 10, "lock"))
      void flights.run("a", 10, failing).catch(() => (shortFlights < 10 ? startShort() : undefined))
    }
    startShort()
    let ownStarts = 0
    const call = flights.onDemand("a", async () => {
      ownStarts++
      return resultOf("own")
    })
    await expect(call).rejects.toMatchObject({ lockTimeoutMs: 10, waitedFor: "lock" })
    expect(ownStarts).toBe(0)
    expect(shortFlights).toBeGreaterThanOrEqual(3)
  })

  test("a refused token: a joined flight that ended on it is followed by one of our own", async () => {
    const flights = new AccountFlights(1_000)
    const { pending, start } = deferredStarts()
    const joined = flights.onDemand("a", start)
    const refused = flights.refused("a", refusalOf("old"), mode, () => start())
    pending[0]!.resolve(resultOf("old"))
    expect((await joined).accessToken).toBe("old")
    await new Promise((resolve) => setImmediate(resolve))
    expect(pending).toHaveLength(2)
    pending[1]!.resolve(resultOf("new"))
    expect((await refused).accessToken).toBe("new")
  })

  test("a refused token: our own flight that ends on it is the token issued again", async () => {
    const flights = new AccountFlights(1_000)
    const modes: RefreshMode[] = []
    const refused = flights.refused("a", refusalOf("old"), mode, async (given, fresh) => {
      modes.push(given)
      expect(fresh({ access_token: "old" })).toBe(false)
      expect(fresh({ access_token: "new" })).toBe(true)
      return resultOf("old")
    })
    await expect(refused).rejects.toThrow(AccessTokenRefusedError)
    await expect(refused).rejects.toMatchObject({ reason: "reissued" })
    expect(modes).toEqual([mode])
  })
})
