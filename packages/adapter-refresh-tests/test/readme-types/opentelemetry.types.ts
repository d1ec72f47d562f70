/**
 * Type test, checked by `pnpm typecheck` (tsc, strict): the README's OpenTelemetry bridge compiles as
 * written against @opentelemetry/api and the library's event types.
 */
// README: Observability
import diagnostics from "node:diagnostics_channel"
import { metrics } from "@opentelemetry/api"
import {
  TOKEN_SYNC_CHANNELS,
  type AccessTokenEvent,
  type FailureEvent,
  type LockWaitEvent,
  type RefreshRequestEvent,
  type SyncEvent,
} from "authjs-adapter-refresh"

const meter = metrics.getMeter("authjs-adapter-refresh")
const accessToken = meter.createHistogram("authjs_refresh.access_token.duration", { unit: "ms" })
const refresh = meter.createHistogram("authjs_refresh.refresh.duration", { unit: "ms" })
const lockWait = meter.createHistogram("authjs_refresh.lock_wait.duration", { unit: "ms" })
const sync = meter.createHistogram("authjs_refresh.sync.duration", { unit: "ms" })
const failures = meter.createCounter("authjs_refresh.failures")

diagnostics.subscribe(TOKEN_SYNC_CHANNELS.accessToken, (message) => {
  const e = message as AccessTokenEvent
  accessToken.record(e.durationMs, { provider: e.provider, outcome: e.outcome })
})
diagnostics.subscribe(TOKEN_SYNC_CHANNELS.refresh, (message) => {
  const e = message as RefreshRequestEvent
  refresh.record(e.durationMs, { provider: e.provider, outcome: e.outcome, attempts: e.attempts })
})
diagnostics.subscribe(TOKEN_SYNC_CHANNELS.lockWait, (message) => {
  const e = message as LockWaitEvent
  lockWait.record(e.waitMs, { provider: e.provider, purpose: e.purpose, outcome: e.outcome })
})
diagnostics.subscribe(TOKEN_SYNC_CHANNELS.sync, (message) => {
  const e = message as SyncEvent
  sync.record(e.durationMs, { provider: e.provider, mode: e.mode, outcome: e.outcome })
})
diagnostics.subscribe(TOKEN_SYNC_CHANNELS.failure, (message) => {
  const e = message as FailureEvent
  failures.add(1, { operation: e.operation, provider: e.provider, code: e.errorCode ?? e.errorName })
})
