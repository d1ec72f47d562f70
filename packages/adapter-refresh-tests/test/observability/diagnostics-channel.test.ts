/**
 * What the library reports on node:diagnostics_channel, against the real Auth.js handler, the real
 * rotating provider and real PostgreSQL: one event per sign-in write, lock wait, refresh request and
 * getAccessToken, with durations and outcomes, and never a token value.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import diagnostics from "node:diagnostics_channel"
import {
  AccountNotLinkedError,
  RefreshTokenError,
  TOKEN_SYNC_CHANNELS,
  type AccessTokenEvent,
  type LockWaitEvent,
  type RefreshRequestEvent,
  type SyncEvent,
} from "authjs-adapter-refresh"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { useRefreshScenario } from "../refresh/scenario-hooks.js"

type Received = { channel: string; event: Record<string, unknown> }
const received: Received[] = []
const listeners = Object.values(TOKEN_SYNC_CHANNELS).map((channel) => {
  const listener = (event: unknown) => received.push({ channel, event: event as Record<string, unknown> })
  return { channel, listener }
})
beforeAll(() => {
  for (const { channel, listener } of listeners) diagnostics.subscribe(channel, listener)
})
afterAll(() => {
  for (const { channel, listener } of listeners) diagnostics.unsubscribe(channel, listener)
})

const take = (channel: string): Record<string, unknown>[] => {
  const events = received.filter((r) => r.channel === channel).map((r) => r.event)
  received.length = 0
  return events
}

describe("diagnostics_channel events", () => {
  let s: RefreshScenario
  useRefreshScenario(
    "observability",
    { cell: "pg", login: "observed", skewSeconds: 0, provider: { accessTokenTtl: 3 } },
    (started) => {
      ;({ s } = started)
    },
  )

  test("a returning sign-in publishes one lock wait and one sync event: updated, with a duration", async () => {
    received.length = 0
    const again = await s.app.signIn(s.browser, { login: s.login })
    expect(again.ok).toBe(true)
    const syncs = received
      .filter((r) => r.channel === TOKEN_SYNC_CHANNELS.sync)
      .map((r) => r.event as unknown as SyncEvent)
    const waits = received
      .filter((r) => r.channel === TOKEN_SYNC_CHANNELS.lockWait)
      .map((r) => r.event as unknown as LockWaitEvent)
    expect(syncs).toEqual([
      { store: "pg", provider: s.key.provider, mode: "sync", outcome: "updated", durationMs: expect.any(Number) },
    ])
    expect(waits).toEqual([
      { store: "pg", provider: s.key.provider, purpose: "sync", waitMs: expect.any(Number), outcome: "acquired" },
    ])
    expect(syncs[0]!.durationMs).toBeGreaterThanOrEqual(waits[0]!.waitMs)
    received.length = 0
  })

  test("a fresh token is one access-token event, no lock and no refresh", async () => {
    await s.adapter.getAccessToken({ userId: s.userId, provider: s.key.provider })
    const events = received.map((r) => r.channel)
    expect(events).toEqual([TOKEN_SYNC_CHANNELS.accessToken])
    expect(take(TOKEN_SYNC_CHANNELS.accessToken)).toEqual([
      { store: "pg", provider: s.key.provider, outcome: "fresh", notPersisted: false, durationMs: expect.any(Number) },
    ])
  })
  test("ten concurrent calls at expiry: one refresh request (issued), ten access-token events, lock waits for the refresh", async () => {
    await s.waitForExpiry(0)
    received.length = 0
    const results = await Promise.all(
      Array.from({ length: 10 }, () => s.adapter.getAccessToken({ userId: s.userId, provider: s.key.provider })),
    )
    expect(new Set(results.map((r) => r.accessToken)).size).toBe(1)
    const refreshes = received
      .filter((r) => r.channel === TOKEN_SYNC_CHANNELS.refresh)
      .map((r) => r.event as unknown as RefreshRequestEvent)
    expect(refreshes).toEqual([
      {
        store: "pg",
        provider: s.key.provider,
        outcome: "issued",
        failureKind: undefined,
        attempts: 1,
        durationMs: expect.any(Number),
      },
    ])
    const tokens = received
      .filter((r) => r.channel === TOKEN_SYNC_CHANNELS.accessToken)
      .map((r) => r.event as unknown as AccessTokenEvent)
    expect(tokens).toHaveLength(10)
    expect(tokens.filter((t) => t.outcome === "refreshed").length).toBeGreaterThanOrEqual(1)
    expect(tokens.every((t) => t.outcome !== "failed")).toBe(true)
    const waits = received
      .filter((r) => r.channel === TOKEN_SYNC_CHANNELS.lockWait)
      .map((r) => r.event as unknown as LockWaitEvent)
    expect(waits.length).toBeGreaterThanOrEqual(1)
    expect(waits.every((w) => w.purpose === "refresh" && w.outcome === "acquired")).toBe(true)
  })
  test("failures: an unknown user and a dead refresh token publish failure events with the library's codes", async () => {
    received.length = 0
    await expect(s.adapter.getAccessToken({ userId: "987654321", provider: s.key.provider })).rejects.toBeInstanceOf(
      AccountNotLinkedError,
    )
    expect(take(TOKEN_SYNC_CHANNELS.failure)).toEqual([
      {
        operation: "access-token",
        store: "pg",
        provider: s.key.provider,
        errorCode: "ACCOUNT_NOT_LINKED",
        errorName: "AccountNotLinkedError",
      },
    ])
    // Kill the grant at the provider, then ask after expiry: the refresh request fails with invalid_grant.
    const grantId = s.op.lastIssued("refresh_token")?.grantId
    expect(grantId).toBeDefined()
    await s.op.revokeGrant(grantId!)
    await s.waitForExpiry(0)
    received.length = 0
    await expect(s.adapter.getAccessToken({ userId: s.userId, provider: s.key.provider })).rejects.toBeInstanceOf(
      RefreshTokenError,
    )
    const refreshes = received.filter((r) => r.channel === TOKEN_SYNC_CHANNELS.refresh).map((r) => r.event)
    expect(refreshes).toEqual([
      {
        store: "pg",
        provider: s.key.provider,
        outcome: "invalid_grant",
        failureKind: undefined,
        attempts: 1,
        durationMs: expect.any(Number),
      },
    ])
    const failures = received.filter((r) => r.channel === TOKEN_SYNC_CHANNELS.failure).map((r) => r.event)
    expect(failures).toEqual([
      {
        operation: "access-token",
        store: "pg",
        provider: s.key.provider,
        errorCode: "REFRESH_INVALID_GRANT",
        errorName: "RefreshTokenError",
      },
    ])
  })

  test("no event ever carried a token value the provider issued", () => {
    // Everything published in this file, re-collected: the listeners never stopped recording.
    const all = JSON.stringify(collectedSoFar)
    const values = s.op.issued.map((token) => token.value)
    expect(values.length).toBeGreaterThan(3)
    for (const value of values) expect(all.includes(value)).toBe(false)
    expect(collectedSoFar.length).toBeGreaterThan(10)
  })
})

// A second, never-cleared record of every event, for the leak check.
const collectedSoFar: unknown[] = []
const leakListeners = Object.values(TOKEN_SYNC_CHANNELS).map((channel) => ({
  channel,
  listener: (event: unknown) => collectedSoFar.push(event),
}))
beforeAll(() => {
  for (const { channel, listener } of leakListeners) diagnostics.subscribe(channel, listener)
})
afterAll(() => {
  for (const { channel, listener } of leakListeners) diagnostics.unsubscribe(channel, listener)
})
