/**
 * What a sign-in write or link publishes (src/sync-events.ts), on the real diagnostics channels: the outcome
 * read from the writes counted, and a failure with its code. `write` plays the write: no database.
 */
import diagnostics from "node:diagnostics_channel"
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals"
import { AccountBusyError } from "../src/errors.js"
import { TOKEN_SYNC_CHANNELS } from "../src/observability.js"
import { observeSync } from "../src/sync-events.js"

const input = { provider: "acme", providerAccountId: "p1" }
let syncs: unknown[] = []
let failures: unknown[] = []
const onSync = (event: unknown): void => void syncs.push(event)
const onFailure = (event: unknown): void => void failures.push(event)
beforeEach(() => {
  syncs = []
  failures = []
  diagnostics.subscribe(TOKEN_SYNC_CHANNELS.sync, onSync)
  diagnostics.subscribe(TOKEN_SYNC_CHANNELS.failure, onFailure)
})
afterEach(() => {
  diagnostics.unsubscribe(TOKEN_SYNC_CHANNELS.sync, onSync)
  diagnostics.unsubscribe(TOKEN_SYNC_CHANNELS.failure, onFailure)
})

describe("observeSync", () => {
  test("the outcome from the writes counted; a null result is skipped; the result is returned", async () => {
    expect(await observeSync("fake", input, "link", async (counts) => (counts.inserts++, "row"))).toBe("row")
    await observeSync("fake", input, "sync", async (counts) => (counts.updates++, "row"))
    await observeSync("fake", input, "sync", async () => "row")
    await observeSync("fake", input, "sync", async () => null)
    const base = { store: "fake", provider: "acme", durationMs: expect.any(Number) }
    expect(syncs).toEqual([
      { ...base, mode: "link", outcome: "inserted" },
      { ...base, mode: "sync", outcome: "updated" },
      { ...base, mode: "sync", outcome: "unchanged" },
      { ...base, mode: "sync", outcome: "skipped" },
    ])
    expect(failures).toEqual([])
  })

  test("a failure on both channels with its code, thrown as it was", async () => {
    const busy = new AccountBusyError("acme", 1_000)
    await expect(observeSync("fake", input, "sync", () => Promise.reject(busy))).rejects.toBe(busy)
    expect(syncs).toEqual([
      {
        store: "fake",
        provider: "acme",
        mode: "sync",
        outcome: "failed",
        durationMs: expect.any(Number),
        errorCode: "ACCOUNT_BUSY",
      },
    ])
    expect(failures).toEqual([
      { operation: "sync", store: "fake", provider: "acme", errorCode: "ACCOUNT_BUSY", errorName: "AccountBusyError" },
    ])
  })
})
