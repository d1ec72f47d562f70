/**
 * Which coordination an engine runs (refresh/coordination-mode.ts), refused at construction when the store
 * cannot run it. Fake stores: only the three fields read, no database.
 */
import { describe, expect, test } from "@jest/globals"
import { InvalidOptionsError } from "../../src/errors.js"
import { leasesFor } from "../../src/refresh/coordination-mode.js"
import type { AccountLeases } from "../../src/store.js"

const leases = {} as AccountLeases

describe("leasesFor", () => {
  test("lock mode (the default) needs no leases", () => {
    expect(leasesFor({ name: "fake" }, {})).toBeUndefined()
    expect(leasesFor({ name: "fake", leases }, { coordination: "lock" })).toBeUndefined()
  })

  test("lease mode takes the store's leases", () => {
    expect(leasesFor({ name: "fake", leases }, { coordination: "lease" })).toBe(leases)
    expect(leasesFor({ name: "fake", coordination: "lease", leases }, { coordination: "lease" })).toBe(leases)
  })

  test("lease mode on a store without leases is refused, naming the store and the option", () => {
    expect(() => leasesFor({ name: "fake" }, { coordination: "lease" })).toThrow(InvalidOptionsError)
    expect(() => leasesFor({ name: "fake" }, { coordination: "lease" })).toThrow(/fake account store does not/)
  })

  test("a store whose lock is a lease refuses lock mode", () => {
    for (const coordination of [undefined, "lock"] as const) {
      expect(() => leasesFor({ name: "fake", coordination: "lease", leases }, { coordination })).toThrow(
        /lock is a lease/,
      )
    }
  })
})
