/**
 * The kept-token refresh (refresh/kept-refresh.ts) over fakes of the engine's parts: what a refresh returns or
 * throws, and the issued tokens a failed write leaves, kept, written again a little and served meanwhile.
 * No database and no provider.
 */
import { describe, expect, test } from "@jest/globals"
import type { StoredView } from "../../src/account-sync.js"
import type { AdapterAccount } from "../../src/authjs-types.js"
import { AccountStoreError, RefreshLockTimeoutError, RefreshPersistError } from "../../src/errors.js"
import type { TokenSet } from "../../src/policy/merge.js"
import { SlotWaitTimeout, StartTimeout } from "../../src/refresh/coordination.js"
import type { AccessTokenResult, Outcome, RefreshMode } from "../../src/refresh/engine-types.js"
import type { KeptTokens, PersistOutcome } from "../../src/refresh/issued-tokens.js"
import { createKeptRefresh, type KeptRefreshContext } from "../../src/refresh/kept-refresh.js"
import type { LockRefresh } from "../../src/refresh/lock-refresh.js"
import type { ProviderClient } from "../../src/refresh/provider.js"

const key = { provider: "acme", providerAccountId: "p1" }
const id = "acme\u001fp1"
const client = {} as ProviderClient
const onDemand: RefreshMode = {
  done: () => false,
  lockOptions: { lockTimeoutMs: 1_000, transactionTimeoutMs: 5_000 },
  leaseWait: true,
}
const accountOf = (tokens: TokenSet): AdapterAccount => ({ provider: "acme", ...tokens }) as unknown as AdapterAccount
const entryOf = (tokens: TokenSet): KeptTokens => ({
  from: { access_token: "old", refresh_token: "r1" },
  base: { row: { userId: "u1" }, tokens: {} } as unknown as StoredView,
  tokens,
  attempts: 0,
  lastFailure: {},
})

/** The engine's parts as fakes: `coordinated` plays the mode's refresh, `writes` the kept-token writes' outcomes. */
function contextOf(
  coordinated: (onIssued: (entry: KeptTokens) => void) => Promise<Outcome>,
  writes: PersistOutcome[] = [],
) {
  const keptById = new Map<string, KeptTokens>()
  const calls: string[] = []
  const lockRefresh: LockRefresh = { refresh: (_key, _userId, _client, onIssued) => coordinated(onIssued) }
  const context: KeptRefreshContext = {
    kept: {
      get: (kid) => keptById.get(kid),
      keep: (kid, entry) => void keptById.set(kid, entry),
      drop: (kid) => (calls.push("drop"), void keptById.delete(kid)),
      failed: (entry, failure) => {
        entry.attempts++
        entry.lastFailure = failure
      },
      writable: (entry) => entry.attempts < 5,
      async write(_key, kid) {
        calls.push("write")
        const entry = keptById.get(kid)!
        entry.attempts++
        const written = writes.shift() ?? { kind: "failed", failure: {} }
        if (written.kind !== "failed") keptById.delete(kid)
        return written
      },
      accountOf: (entry) => accountOf(entry.tokens),
    },
    leaseRefresh: undefined,
    lockRefresh,
    reauth: { forgetRefused: () => void calls.push("forget") },
    queueTimeoutMs: 30_000,
    onDemand,
    freshTokens: (tokens) => typeof tokens.access_token === "string",
    fromKept: (provider, entry, refreshed) => ({
      accessToken: entry.tokens.access_token as string,
      account: accountOf(entry.tokens),
      refreshed,
      persistError: new RefreshPersistError(provider, entry.lastFailure, entry.attempts, 5),
    }),
    storeError: (error, provider, lockWaitMs) => new RefreshLockTimeoutError(provider, lockWaitMs, "lock"),
  }
  return { context, keptById, calls }
}

const refreshed = (accessToken: string): Outcome => ({
  ok: true,
  result: { accessToken, account: accountOf({ access_token: accessToken }), refreshed: true },
})

describe("kept refresh", () => {
  test("a refresh that wrote its answer forgets the refusal and the kept tokens", async () => {
    const { context, calls } = contextOf(async () => refreshed("a2"))
    const result = await createKeptRefresh(context).refresh(key, "u1", client)
    expect(result).toMatchObject({ accessToken: "a2", refreshed: true })
    expect(calls).toEqual(["forget", "drop"])
  })

  test("a failed outcome throws its error; a full slot and a store failure become typed errors", async () => {
    const refused = new Error("refused")
    await expect(
      createKeptRefresh(contextOf(async () => ({ ok: false, error: refused }) as unknown as Outcome).context).refresh(
        key,
        "u1",
        client,
      ),
    ).rejects.toBe(refused)

    const slot = contextOf(async () => Promise.reject(new SlotWaitTimeout()))
    await expect(createKeptRefresh(slot.context).refresh(key, "u1", client)).rejects.toMatchObject({
      waitedFor: "refresh_slot",
      lockTimeoutMs: 30_000,
    })

    const store = contextOf(async () => Promise.reject(new Error("connection refused")))
    await expect(createKeptRefresh(store.context).refresh(key, "u1", client)).rejects.toBeInstanceOf(
      RefreshLockTimeoutError,
    )
  })

  test("a write that failed after the provider issued: kept, written again twice, then served with a persist error", async () => {
    const issued = entryOf({ access_token: "k", refresh_token: "rk" })
    const { context, keptById, calls } = contextOf(async (onIssued) => {
      onIssued(issued)
      throw new AccountStoreError("test", "a token refresh", new Error("commit failed"))
    })
    const result: AccessTokenResult = await createKeptRefresh(context).refresh(key, "u1", client)
    expect(result).toMatchObject({ accessToken: "k", refreshed: true })
    expect(result.persistError).toBeInstanceOf(RefreshPersistError)
    expect(calls).toEqual(["write", "write"])
    expect(keptById.get(id)).toBe(issued)
    expect(issued.attempts).toBe(3)
  })

  test("a lock not granted in time is not retried right away; a retry that writes serves the stored account", async () => {
    const timedOut = contextOf(async (onIssued) => {
      onIssued(entryOf({ access_token: "k" }))
      throw new StartTimeout()
    })
    await createKeptRefresh(timedOut.context).refresh(key, "u1", client)
    expect(timedOut.calls).toEqual([])

    const stored = accountOf({ access_token: "k" })
    const written = contextOf(
      async (onIssued) => {
        onIssued(entryOf({ access_token: "k" }))
        throw new Error("commit failed")
      },
      [{ kind: "written", account: stored }],
    )
    const result = await createKeptRefresh(written.context).refresh(key, "u1", client)
    expect(result).toEqual({ accessToken: "k", account: stored, refreshed: true })
    expect(result.persistError).toBeUndefined()
  })

  test("the slow path writes kept tokens first and serves them when fresh, with no refresh", async () => {
    const stored = accountOf({ access_token: "k" })
    const { context, keptById } = contextOf(async () => {
      throw new Error("no refresh expected")
    }, [{ kind: "written", account: stored }])
    keptById.set(id, entryOf({ access_token: "k" }))
    expect(await createKeptRefresh(context).slowPath(key, "u1", client)).toEqual({
      accessToken: "k",
      account: stored,
      refreshed: false,
    })
  })
})
