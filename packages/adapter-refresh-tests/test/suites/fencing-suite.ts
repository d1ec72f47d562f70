/**
 * The two scenarios every store whose lock is a lease proves on its own server (test/cells/<cell>/fencing.test.ts):
 * a holder that stalls while another takes the lock (its later write must be refused, the other's stay), and a
 * lock held elsewhere answering the typed busy value within the wait bound. The cells differ only in how they
 * seed a row, build their stores (and their unfenced control) and read what is stored.
 */
import { expect } from "@jest/globals"
import { AccountStoreError, type AccountKey, type AccountStore } from "authjs-adapter-refresh"

export interface StalledHolderRun {
  /** Holder A: reads under the lock, then stalls until B has written. */
  a: AccountStore
  /** Holder B: takes the lock while A stalls (after A's lease ended, or early with a clock ahead). */
  b: AccountStore
  /** A key whose one row, owned by `userId`, holds access token "at.first". */
  key: AccountKey
  userId: string
  /** The stored access token(s) of the key, as the cell reads them. */
  stored: (key: AccountKey) => Promise<unknown>
  /** When set, B's take must have waited at least this long (A's lease was not released, it ended). */
  bWaitsAtLeastMs?: number
}

/**
 * Holder A reads under the lock and stalls; B takes the lock and writes a sign-in ("at.signin"); then A writes
 * what it decided on its stale read ("at.stale"). Resolves to A's outcome ("written", or what it threw) and what
 * is stored then.
 */
export async function stalledHolder(run: StalledHolderRun): Promise<{ a: unknown; stored: unknown }> {
  const { key, userId } = run
  let bWrote!: () => void
  const bDone = new Promise<void>((resolve) => (bWrote = resolve))
  let aRead!: () => void
  const aHasRead = new Promise<void>((resolve) => (aRead = resolve))
  const holderA = run.a
    .withAccountLock(key, async (account) => {
      expect((await account.readAll()).map((row) => row.tokens.access_token)).toEqual(["at.first"])
      aRead()
      await bDone // stalled: B takes the lock meanwhile, and writes
      await account.update({ tokens: { access_token: "at.stale" } }, { userId })
      return "written"
    })
    .catch((error: unknown) => error)
  await aHasRead
  const started = performance.now()
  await run.b.withAccountLock(key, async (account) => {
    expect((await account.readAll()).map((row) => row.tokens.access_token)).toEqual(["at.first"])
    await account.update({ tokens: { access_token: "at.signin" } }, { userId })
  })
  if (run.bWaitsAtLeastMs !== undefined) expect(performance.now() - started).toBeGreaterThan(run.bWaitsAtLeastMs)
  bWrote()
  return { a: await holderA, stored: await run.stored(key) }
}

/**
 * `holder` takes `key`'s lock and keeps it; `waiter`'s take then fails with the typed busy value
 * (`AccountStoreError` with `lockTimeout`) within its 150 ms bound, well under 2 s; once released, the waiter
 * takes it at once.
 */
export async function expectBusyWithinBound(holder: AccountStore, waiter: AccountStore, key: AccountKey) {
  let release!: () => void
  const held = new Promise<void>((resolve) => (release = resolve))
  let taken!: () => void
  const isTaken = new Promise<void>((resolve) => (taken = resolve))
  const holding = holder.withAccountLock(key, async () => {
    taken()
    await held
  })
  await isTaken
  const started = performance.now()
  const error = await waiter
    .withAccountLock(key, (account) => account.readAll(), { lockTimeoutMs: 150 })
    .catch((e: unknown) => e)
  expect(error).toBeInstanceOf(AccountStoreError)
  expect((error as AccountStoreError).lockTimeout).toBe(true)
  expect(performance.now() - started).toBeLessThan(2_000)
  release()
  await holding
  // Released: taken at once.
  expect(await waiter.withAccountLock(key, async () => "ran", { lockTimeoutMs: 0 })).toBe("ran")
}
