/**
 * Lock mode's refresh (refresh/lock-refresh.ts) over a fake sync whose "transaction" is a plain call: the
 * order of its steps under the lock, the mark written on a dead grant, and the per-process refresh slots.
 * No database and no provider.
 */
import { describe, expect, test } from "@jest/globals"
import type { StoredView } from "../../src/account-sync.js"
import type { AdapterAccount } from "../../src/authjs-types.js"
import type { Checked, Outcome, RefreshMode } from "../../src/refresh/engine-types.js"
import { SlotWaitTimeout } from "../../src/refresh/coordination.js"
import type { Granted } from "../../src/refresh/grant.js"
import { createLockRefresh, type LockRefreshContext } from "../../src/refresh/lock-refresh.js"
import type { ProviderClient } from "../../src/refresh/provider.js"
import type { LockedAccount } from "../../src/store.js"

const key = { provider: "acme", providerAccountId: "p1" }
const client = {} as ProviderClient
const mode: RefreshMode = {
  done: () => false,
  lockOptions: { lockTimeoutMs: 1_000, transactionTimeoutMs: 5_000 },
  leaseWait: true,
}
const stored = { row: { userId: "u1" }, tokens: { refresh_token: "r1" } } as unknown as StoredView
const checked: Checked = { stored, entry: undefined, current: stored.tokens, refreshToken: "r1" }
const locked = {} as LockedAccount

function contextOf(granted: () => Promise<Granted>, overrides: Partial<LockRefreshContext> = {}) {
  const steps: string[] = []
  const context: LockRefreshContext = {
    sync: {
      async withStoredAccount(_key, work) {
        steps.push("lock")
        return work(stored, locked)
      },
      async writeMark(_locked, _stored, column, value) {
        steps.push(`mark ${column}=${value}`)
      },
      async writeMerged(_locked, _stored, tokens) {
        steps.push(`write ${String(tokens.access_token)}`)
        return { access_token: tokens.access_token } as unknown as AdapterAccount
      },
    },
    reauthColumn: "reauth",
    settings: { maxConcurrentRefreshes: 1, queueTimeoutMs: 50 },
    checkStored: () => (steps.push("check"), checked),
    grant: async (_client, refreshToken) => (steps.push(`send ${refreshToken}`), granted()),
    failed: async (_key, _checked, result, mark) => {
      await mark("invalid_grant")
      return { ok: false, error: new Error(result.failure.kind) } as unknown as Outcome
    },
    readAnswer: (issued) => ({
      tokens: { access_token: issued.body.access_token as string },
      accessToken: issued.body.access_token as string,
      dropped: [],
      expirySource: "provider",
    }),
    issuedEntry: (view, tokens) => ({
      from: { access_token: null, refresh_token: "r1" },
      base: view,
      tokens,
      attempts: 0,
      lastFailure: {},
    }),
    answered: (account) => ({
      ok: true,
      result: { accessToken: account.access_token as string, account, refreshed: true },
    }),
    ...overrides,
  }
  return { context, steps }
}

describe("lock refresh", () => {
  test("under the lock: check, send, hand the issued tokens over, then write", async () => {
    const issued: Granted = {
      ok: true,
      issued: { body: { access_token: "a2" }, idTokenValid: true },
      reportIssued: () => {},
    }
    const { context, steps } = contextOf(async () => issued)
    const handed: string[] = []
    const outcome = await createLockRefresh(context).refresh(
      key,
      "u1",
      client,
      (entry) => {
        handed.push(String(entry.tokens.access_token))
        steps.push("issued")
      },
      mode,
    )
    expect(outcome).toMatchObject({ ok: true, result: { accessToken: "a2", refreshed: true } })
    expect(steps).toEqual(["lock", "check", "send r1", "issued", "write a2"])
    expect(handed).toEqual(["a2"])
  })

  test("nothing to send: the check's outcome, no request", async () => {
    const done: Outcome = { ok: true, result: { accessToken: "a", account: {} as AdapterAccount, refreshed: false } }
    const { context, steps } = contextOf(
      async () => {
        throw new Error("no request expected")
      },
      { checkStored: () => ({ outcome: done }) },
    )
    expect(await createLockRefresh(context).refresh(key, "u1", client, () => {}, mode)).toBe(done)
    expect(steps).toEqual(["lock"])
  })

  test("a dead grant writes the mark under the same lock, only with a column", async () => {
    const refused: Granted = { ok: false, failure: { kind: "invalid_grant" }, attempts: 1 }
    const withColumn = contextOf(async () => refused)
    await createLockRefresh(withColumn.context).refresh(key, "u1", client, () => {}, mode)
    expect(withColumn.steps).toEqual(["lock", "check", "send r1", "mark reauth=invalid_grant"])

    const without = contextOf(async () => refused, { reauthColumn: undefined })
    await createLockRefresh(without.context).refresh(key, "u1", client, () => {}, mode)
    expect(without.steps).toEqual(["lock", "check", "send r1"])
  })

  test("the refresh slots cap this process's refreshes; a wait past queueTimeoutMs throws SlotWaitTimeout", async () => {
    let release: () => void = () => {}
    const held = new Promise<Granted>((resolve) => {
      release = () => resolve({ ok: false, failure: { kind: "timeout", retrySafe: false }, attempts: 1 })
    })
    const { context } = contextOf(() => held)
    const refresher = createLockRefresh(context)
    const first = refresher.refresh(key, "u1", client, () => {}, mode)
    await expect(refresher.refresh(key, "u1", client, () => {}, mode)).rejects.toBeInstanceOf(SlotWaitTimeout)
    release()
    await expect(first).resolves.toMatchObject({ ok: false })
  })
})
