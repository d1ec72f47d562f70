/**
 * The merged write (src/merged-write.ts), over a fake locked account that records its updates and a fake codec
 * ("enc:" prefix, "enc2:" the current form): nothing erased, the two nulls, stale values migrated, and the
 * write scoped to the owner's rows and the orphans adopted. No database.
 */
import { describe, expect, test } from "@jest/globals"
import type { StoredView } from "../src/account-sync.js"
import type { TokenCodec } from "../src/codec.js"
import { writeMerged, type MergedWriteSettings } from "../src/merged-write.js"
import type { TokenSet } from "../src/policy/merge.js"
import type { AccountPatch, AccountRowScope, StoredAccountRow } from "../src/store.js"

const viewOf = (tokens: TokenSet, rowTokens: TokenSet = tokens, userId = "u1"): StoredView => ({
  row: { userId, type: "oauth", provider: "acme", providerAccountId: "p1", tokens: rowTokens } as StoredAccountRow,
  tokens,
})
/** Writes "enc2:" (the current form); reads "enc:" and "enc2:". */
const codecFake: TokenCodec = {
  fields: ["access_token", "refresh_token"],
  encode: (value) => `enc2:${value}`,
  decode: (stored) => stored.replace(/^enc2?:/, ""),
  isCurrent: (stored) => stored.startsWith("enc2:"),
}
const plain: MergedWriteSettings = { reauthColumn: undefined, expiryColumn: undefined, codec: undefined }

function lockedFake() {
  const updates: [AccountPatch, AccountRowScope][] = []
  return {
    updates,
    account: { update: async (patch: AccountPatch, scope: AccountRowScope) => void updates.push([patch, scope]) },
  }
}

describe("writeMerged", () => {
  test("writes only the changed fields to the owner's rows; never erases one", async () => {
    const { updates, account } = lockedFake()
    const stored = viewOf({ access_token: "a1", refresh_token: "r1", scope: "read" })
    const merged = await writeMerged(plain, account, stored, { access_token: "a2", refresh_token: null })
    expect(updates).toEqual([[{ tokens: { access_token: "a2" } }, { userId: "u1" }]])
    expect(merged).toMatchObject({ userId: "u1", access_token: "a2", refresh_token: "r1", scope: "read" })
  })

  test("nothing changed: nothing written", async () => {
    const { updates, account } = lockedFake()
    await writeMerged(plain, account, viewOf({ access_token: "a1" }), { access_token: "a1" })
    expect(updates).toEqual([])
  })

  test("the reauth mark is cleared by a sign-in bringing a new refresh token, not by one without", async () => {
    const settings = { ...plain, reauthColumn: "needs_reauth" }
    const stored = viewOf({ access_token: "a1", refresh_token: "r1", needs_reauth: "invalid_grant" })
    const withNew = lockedFake()
    await writeMerged(settings, withNew.account, stored, { refresh_token: "r2" })
    expect(withNew.updates[0]![0].tokens).toEqual({ refresh_token: "r2", needs_reauth: null })
    const without = lockedFake()
    await writeMerged(settings, without.account, stored, { access_token: "a2" })
    expect(without.updates[0]![0].tokens).toEqual({ access_token: "a2" })
    const refresh = lockedFake()
    await writeMerged(settings, refresh.account, stored, { access_token: "a3" }, "refresh")
    expect(refresh.updates[0]![0].tokens).toEqual({ access_token: "a3", needs_reauth: null })
  })

  test("a new refresh token without an expiry makes the stored expiry unknown", async () => {
    const { updates, account } = lockedFake()
    const stored = viewOf({ refresh_token: "r1", rt_expires_at: 123 })
    await writeMerged({ ...plain, expiryColumn: "rt_expires_at" }, account, stored, { refresh_token: "r2" })
    expect(updates[0]![0].tokens).toEqual({ refresh_token: "r2", rt_expires_at: null })
  })

  test("with a codec: changes encoded, and stale values rewritten whenever the row is written anyway", async () => {
    const { updates, account } = lockedFake()
    const stored = viewOf(
      { access_token: "a1", refresh_token: "r1" },
      { access_token: "enc2:a1", refresh_token: "enc:r1" },
    )
    const merged = await writeMerged({ ...plain, codec: codecFake }, account, stored, { access_token: "a2" })
    expect(updates[0]![0].tokens).toEqual({ access_token: "enc2:a2", refresh_token: "enc2:r1" })
    expect(merged).toMatchObject({ access_token: "a2", refresh_token: "r1" })
    const unchanged = lockedFake()
    await writeMerged({ ...plain, codec: codecFake }, unchanged.account, stored, { access_token: "a1" })
    expect(unchanged.updates).toEqual([])
  })

  test("adopted orphans are re-pointed to the owner as typed; the owner's rows only when it has some", async () => {
    const { updates, account } = lockedFake()
    const stored = viewOf({ access_token: "a1" }, { access_token: "a1" }, "9")
    const merged = await writeMerged(plain, account, stored, { access_token: "a2" }, "sign-in", {
      owner: "7",
      adopt: ["9"],
      ownerAsTyped: 7,
    })
    expect(updates).toEqual([[{ userId: 7, tokens: { access_token: "a2" } }, { userId: "9" }]])
    expect(merged.userId).toBe("7")
  })
})
