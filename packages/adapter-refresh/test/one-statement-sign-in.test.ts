/**
 * The one-statement sign-in (src/one-statement-sign-in.ts) over a fake store whose `updateOwnTokens` answers what
 * the test gives (rows, a count, a failure): when it is not tried, what a write returns, the read-back of a
 * count, the lock wait published, and failures typed. No database.
 */
import diagnostics from "node:diagnostics_channel"
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals"
import type { TokenCodec } from "../src/codec.js"
import { AccountBusyError, AccountStoreError } from "../src/errors.js"
import { TOKEN_SYNC_CHANNELS } from "../src/observability.js"
import { signInInOneStatement, type OneStatementSettings } from "../src/one-statement-sign-in.js"
import type { OwnTokensWritten, StoredAccountRow } from "../src/store.js"

const key = { provider: "acme", providerAccountId: "p1" }
const row = (tokens: Record<string, unknown>): StoredAccountRow =>
  ({ userId: "7", type: "oauth", ...key, tokens }) as StoredAccountRow

/** A store whose one statement answers `written`; counts the statements and the read-backs. */
function storeFake(written: () => Promise<OwnTokensWritten>, found: StoredAccountRow[] = []) {
  const calls = { updates: 0, finds: 0 }
  const store: OneStatementSettings["store"] = {
    name: "fake",
    updateOwnTokens: async (_key, _owner, _tokens, begin) => {
      calls.updates++
      begin()
      return written()
    },
    findAccounts: async () => {
      calls.finds++
      return found
    },
  }
  return { calls, store }
}
const settingsOf = (store: OneStatementSettings["store"], extra: Partial<OneStatementSettings> = {}) => ({
  store,
  columns: ["access_token", "refresh_token"],
  codec: undefined,
  reauthColumn: undefined,
  expiryColumn: undefined,
  lockTimeoutMs: 1_000,
  ...extra,
})

let lockWaits: unknown[] = []
const onLockWait = (event: unknown): void => void lockWaits.push(event)
beforeEach(() => {
  lockWaits = []
  diagnostics.subscribe(TOKEN_SYNC_CHANNELS.lockWait, onLockWait)
})
afterEach(() => void diagnostics.unsubscribe(TOKEN_SYNC_CHANNELS.lockWait, onLockWait))

describe("signInInOneStatement", () => {
  test("rows written: the stored account, and the statement's lock published as acquired", async () => {
    const { store } = storeFake(async () => [row({ access_token: "a2", refresh_token: "r1" })])
    const account = await signInInOneStatement(settingsOf(store), key, 7, { access_token: "a2" }, true)
    expect(account).toMatchObject({ userId: "7", access_token: "a2", refresh_token: "r1" })
    expect(lockWaits).toEqual([
      { store: "fake", provider: "acme", purpose: "sync", waitMs: expect.any(Number), outcome: "acquired" },
    ])
  })

  test("nothing written (no row of the owner's, or someone else's): not applied, nothing published", async () => {
    for (const written of [[], { written: 0 }] as OwnTokensWritten[]) {
      const { store } = storeFake(async () => written)
      expect(await signInInOneStatement(settingsOf(store), key, 7, { access_token: "a2" }, true)).toBeUndefined()
    }
    expect(lockWaits).toEqual([])
  })

  test("a count: 'written' when the caller drops the result, else the row read back (null once unlinked)", async () => {
    const dropped = storeFake(async () => ({ written: 1 }))
    expect(await signInInOneStatement(settingsOf(dropped.store), key, 7, { access_token: "a2" }, false)).toBe("written")
    expect(dropped.calls.finds).toBe(0)
    const readBack = storeFake(async () => ({ written: 1 }), [row({ access_token: "a2" })])
    const account = await signInInOneStatement(settingsOf(readBack.store), key, 7, { access_token: "a2" }, true)
    expect(account).toMatchObject({ access_token: "a2" })
    const gone = storeFake(async () => ({ written: 1 }), [])
    expect(await signInInOneStatement(settingsOf(gone.store), key, 7, { access_token: "a2" }, true)).toBeNull()
  })

  test("not tried: no store method, a codec, nothing to write, a mark or an unknown expiry to weigh", async () => {
    const { calls, store } = storeFake(async () => [row({})])
    const tokens = { refresh_token: "r2" }
    const none = { name: "fake", findAccounts: store.findAccounts }
    expect(await signInInOneStatement(settingsOf(none), key, 7, tokens, true)).toBeUndefined()
    const codec = { fields: ["access_token"] } as unknown as TokenCodec
    expect(await signInInOneStatement(settingsOf(store, { codec }), key, 7, tokens, true)).toBeUndefined()
    expect(await signInInOneStatement(settingsOf(store), key, 7, {}, true)).toBeUndefined()
    const mark = settingsOf(store, { reauthColumn: "needs_reauth" })
    expect(await signInInOneStatement(mark, key, 7, tokens, true)).toBeUndefined()
    const expiry = settingsOf(store, { expiryColumn: "rt_expires_at" })
    expect(await signInInOneStatement(expiry, key, 7, tokens, true)).toBeUndefined()
    expect(calls.updates).toBe(0)
    // With its expiry, a refresh token may go in one statement; a mark column alone does not stop an access token.
    expect(await signInInOneStatement(expiry, key, 7, { ...tokens, rt_expires_at: 5 }, true)).toBeDefined()
    expect(await signInInOneStatement(mark, key, 7, { access_token: "a2" }, true)).toBeDefined()
    expect(calls.updates).toBe(2)
  })

  test("a driver failure is an AccountStoreError naming the store; a typed error passes unchanged", async () => {
    const failing = storeFake(() => Promise.reject(new Error("connection reset")))
    const error = await signInInOneStatement(settingsOf(failing.store), key, 7, { access_token: "a2" }, true).catch(
      (caught: unknown) => caught,
    )
    expect(error).toBeInstanceOf(AccountStoreError)
    expect(error).toMatchObject({ store: "fake" })
    const busy = new AccountBusyError("acme", 1_000)
    const typed = storeFake(() => Promise.reject(busy))
    await expect(signInInOneStatement(settingsOf(typed.store), key, 7, { access_token: "a2" }, true)).rejects.toBe(busy)
  })
})
