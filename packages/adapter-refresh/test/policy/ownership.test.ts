import { describe, expect, it } from "@jest/globals"
import { decideOwnership, ownersToCheck, type OwnershipMode } from "../../src/policy/ownership.js"

/** Runs the policy the way the core does: asks whom to check, answers from `live`, then decides. */
function decide(owners: string[], caller: string | undefined, mode: OwnershipMode, live: string[] = []) {
  const exists = new Map(ownersToCheck(owners, caller, mode).map((userId) => [userId, live.includes(userId)]))
  return decideOwnership({ owners, caller, mode, exists })
}

describe("ownersToCheck", () => {
  it("asks about nobody in the common cases (no row, or only the caller's rows, or one owner and no caller)", () => {
    expect(ownersToCheck([], "a", "link")).toEqual([])
    expect(ownersToCheck(["a"], "a", "link")).toEqual([])
    expect(ownersToCheck(["a", "a"], "a", "sync")).toEqual([])
    expect(ownersToCheck(["a"], undefined, "sync")).toEqual([])
    expect(ownersToCheck(["a", "a"], undefined, "sync")).toEqual([])
  })

  it("asks about every other owner, and about a sync's caller who owns no row", () => {
    expect(ownersToCheck(["a", "b", "b"], "a", "link")).toEqual(["b"])
    expect(ownersToCheck(["b"], "a", "link")).toEqual(["b"])
    expect(ownersToCheck(["b"], "a", "sync")).toEqual(["b", "a"])
    expect(ownersToCheck([], "a", "sync")).toEqual(["a"])
    expect(ownersToCheck(["a", "b"], undefined, "sync")).toEqual(["a", "b"])
  })
})

describe("decideOwnership", () => {
  describe("no row for the key", () => {
    it("inserts for a linking caller (Auth.js just created or found the user)", () => {
      expect(decide([], "a", "link")).toEqual({ action: "insert", owner: "a" })
    })
    it("inserts for a syncing caller who exists, skips one who does not", () => {
      expect(decide([], "a", "sync", ["a"])).toEqual({ action: "insert", owner: "a" })
      expect(decide([], "a", "sync", [])).toEqual({ action: "skip" })
    })
    it("skips a sync that names no user", () => {
      expect(decide([], undefined, "sync")).toEqual({ action: "skip" })
    })
  })

  describe("a caller is named", () => {
    it.each(["link", "sync"] as const)("%s: writes the caller's own rows", (mode) => {
      expect(decide(["a"], "a", mode)).toEqual({ action: "write", owner: "a", adopt: [] })
      expect(decide(["a", "a"], "a", mode)).toEqual({ action: "write", owner: "a", adopt: [] })
    })

    it.each(["link", "sync"] as const)(
      "%s: refuses when another live user owns the key and the caller owns none of it",
      (mode) => {
        expect(decide(["b"], "a", mode, ["a", "b"])).toEqual({ action: "refuse", reason: "linked-to-another-user" })
        expect(decide(["b", "c"], "a", mode, ["a", "c"])).toEqual({
          action: "refuse",
          reason: "linked-to-another-user",
        })
      },
    )

    it.each(["link", "sync"] as const)(
      "%s: writes only the caller's rows when another live user also owns some; orphans stay",
      (mode) => {
        expect(decide(["a", "b"], "a", mode, ["a", "b"])).toEqual({ action: "write", owner: "a", adopt: [] })
        expect(decide(["a", "b", "gone"], "a", mode, ["a", "b"])).toEqual({ action: "write", owner: "a", adopt: [] })
      },
    )

    it.each(["link", "sync"] as const)(
      "%s: adopts orphaned rows (their users deleted), with or without rows of its own",
      (mode) => {
        expect(decide(["gone"], "a", mode, ["a"])).toEqual({ action: "write", owner: "a", adopt: ["gone"] })
        expect(decide(["a", "gone", "gone2"], "a", mode, ["a"])).toEqual({
          action: "write",
          owner: "a",
          adopt: ["gone", "gone2"],
        })
      },
    )

    it("a sync for a user who does not exist adopts nothing", () => {
      expect(decide(["gone"], "ghost", "sync", [])).toEqual({ action: "skip" })
    })

    it("lists each owner once however many rows it has", () => {
      expect(decide(["gone", "gone", "a"], "a", "link", [])).toEqual({ action: "write", owner: "a", adopt: ["gone"] })
    })
  })

  describe("no caller is named (syncAccount or getUserByAccount without userId)", () => {
    it("writes the only owner's rows, live or not", () => {
      expect(decide(["a"], undefined, "sync")).toEqual({ action: "write", owner: "a", adopt: [] })
      expect(decide(["a", "a"], undefined, "sync")).toEqual({ action: "write", owner: "a", adopt: [] })
    })
    it("writes the one live owner's rows and leaves orphans alone", () => {
      expect(decide(["a", "gone"], undefined, "sync", ["a"])).toEqual({ action: "write", owner: "a", adopt: [] })
    })
    it("refuses when several live users own rows, or several orphans and nobody live", () => {
      expect(decide(["a", "b"], undefined, "sync", ["a", "b"])).toEqual({
        action: "refuse",
        reason: "ambiguous-owner",
        owners: 2,
      })
      expect(decide(["a", "b", "gone"], undefined, "sync", ["a", "b"])).toEqual({
        action: "refuse",
        reason: "ambiguous-owner",
        owners: 2,
      })
      expect(decide(["gone", "gone2"], undefined, "sync", [])).toEqual({
        action: "refuse",
        reason: "ambiguous-owner",
        owners: 2,
      })
    })
  })

  it("never writes or adopts a row of a live user other than the owner it returns (exhaustive over small sets)", () => {
    const users = ["a", "b", "c"]
    const subsets = <T>(items: T[]): T[][] =>
      items.reduce<T[][]>((all, item) => all.concat(all.map((s) => [...s, item])), [[]])
    for (const owners of subsets(users)) {
      for (const live of subsets(users)) {
        for (const caller of [undefined, ...users]) {
          for (const mode of ["link", "sync"] as const) {
            const decision = decide(owners, caller, mode, live)
            if (decision.action === "write") {
              for (const adopted of decision.adopt) expect(live).not.toContain(adopted)
              if (caller !== undefined) expect(decision.owner).toBe(caller)
              // A live user other than the owner keeps their rows: they are never adopted.
              expect(owners.includes(decision.owner) || decision.adopt.length > 0).toBe(true)
            }
            if (decision.action === "insert") expect(owners).toEqual([])
          }
        }
      }
    }
  })
})
