/**
 * The re-authentication memory (refresh/reauth-memory.ts): what the process remembers about refused refresh
 * tokens, and the reauth events it publishes, heard on the diagnostics channel. No database.
 */
import diagnostics from "node:diagnostics_channel"
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals"
import type { StoredView } from "../../src/account-sync.js"
import { RefreshTokenError } from "../../src/errors.js"
import { TOKEN_SYNC_CHANNELS, type ReauthEvent } from "../../src/observability.js"
import { ReauthMemory } from "../../src/refresh/reauth-memory.js"

const key = { provider: "acme", providerAccountId: "p1" }
const id = "acme\u001fp1"
const account = { userId: "u1", providerAccountId: "p1" }
const viewOf = (tokens: Record<string, unknown>): StoredView =>
  ({ row: { ...account, provider: "acme" }, tokens }) as unknown as StoredView

let events: ReauthEvent[] = []
const listener = (event: unknown): void => void events.push(event as ReauthEvent)
beforeEach(() => {
  events = []
  diagnostics.subscribe(TOKEN_SYNC_CHANNELS.reauth, listener)
})
afterEach(() => void diagnostics.unsubscribe(TOKEN_SYNC_CHANNELS.reauth, listener))

describe("reauth memory", () => {
  test("without a column: a refused token is known until forgotten, and only that token", () => {
    const memory = new ReauthMemory("test-store", undefined)
    expect(memory.knownRefused(id, { refresh_token: "dead" })).toBe(false)
    memory.rememberRefused(id, "dead")
    expect(memory.knownRefused(id, { refresh_token: "dead" })).toBe(true)
    expect(memory.knownRefused(id, { refresh_token: "new" })).toBe(false)
    expect(memory.knownRefused("acme\u001fp2", { refresh_token: "dead" })).toBe(false)
    memory.forgetRefused(id)
    expect(memory.knownRefused(id, { refresh_token: "dead" })).toBe(false)
  })

  test("with a column: the mark says so, whatever the memory holds", () => {
    const memory = new ReauthMemory("test-store", "reauth")
    expect(memory.knownRefused(id, { refresh_token: "t", reauth: "invalid_grant" })).toBe(true)
    expect(memory.knownRefused(id, { refresh_token: "t", reauth: null })).toBe(false)
    expect(memory.knownRefused(id, { refresh_token: "t", reauth: "" })).toBe(false)
  })

  test("reportReauth publishes the account, never a token", () => {
    const memory = new ReauthMemory("test-store", undefined)
    memory.reportReauth(
      "acme",
      { userId: 7, providerAccountId: "p1" },
      { reason: "scopes_missing", missingScopes: ["x"] },
    )
    expect(events).toEqual([
      {
        store: "test-store",
        provider: "acme",
        userId: "7",
        providerAccountId: "p1",
        reason: "scopes_missing",
        missingScopes: ["x"],
      },
    ])
  })

  test("a refusal is reported each time; 'marked' once per process and dead token", () => {
    const memory = new ReauthMemory("test-store", "reauth")
    const refused = { reason: "refresh_token_refused", oauthError: "invalid_grant" } as const
    memory.reportDead(key, account, { refresh_token: "dead" }, refused)
    memory.reportDead(key, account, { refresh_token: "dead" }, refused)
    expect(events.map((event) => event.reason)).toEqual(["refresh_token_refused", "refresh_token_refused"])
    events = []
    memory.reportDead(key, account, { refresh_token: "dead" }, { reason: "marked" })
    expect(events).toEqual([])
    memory.reportDead(key, account, { refresh_token: "dead2" }, { reason: "marked" })
    memory.reportDead(key, account, { refresh_token: "dead2" }, { reason: "marked" })
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ reason: "marked", provider: "acme", userId: "u1", providerAccountId: "p1" })
    expect(JSON.stringify(events)).not.toContain("dead")
  })

  test("markedError: reports 'marked' when the column holds the mark, not for this process's own memory", () => {
    const marked = new ReauthMemory("test-store", "reauth")
    const tokens = { refresh_token: "dead", reauth: "invalid_grant" }
    const error = marked.markedError(key, viewOf(tokens), tokens)
    expect(error).toBeInstanceOf(RefreshTokenError)
    expect(error).toMatchObject({ provider: "acme", reason: "marked" })
    marked.markedError(key, viewOf(tokens), tokens)
    expect(events.map((event) => event.reason)).toEqual(["marked"])

    events = []
    const memoryOnly = new ReauthMemory("test-store", undefined)
    memoryOnly.rememberRefused(id, "dead")
    expect(memoryOnly.markedError(key, viewOf({ refresh_token: "dead" }), { refresh_token: "dead" })).toBeInstanceOf(
      RefreshTokenError,
    )
    expect(events).toEqual([])
  })
})
