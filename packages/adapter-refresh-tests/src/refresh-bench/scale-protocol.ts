/**
 * What the scale bench (scale-bench.ts) and its worker processes (scale-worker.ts) share: the worker's
 * config, its one summary outcome, and the expiry schedule both sides compute from an account's number.
 */
import type { Coordination } from "./lease-mode.js"
import type { StormProviderSettings } from "./storm-protocol.js"

/** The seeded accounts' providerAccountId: `scale-<n>`, n from 0. Their users' ids are n + 1. */
export const accountIdOf = (n: number): string => `scale-${n}`
export const accountNumberOf = (providerAccountId: string): number => Number(providerAccountId.slice("scale-".length))

/** One row: when the phase's first expiry is and over how many seconds the rest follow (0: a cliff). */
export const PHASE_TABLE = "bench_scale_phase"

export interface ScaleWorkerConfig {
  databaseUrl: string
  provider: StormProviderSettings
  /** This process's index, 0 .. processes - 1. */
  index: number
  processes: number
  /** How many processes ask for each account (account n: processes n, n + 1, ... mod `processes`). */
  askers: number
  /** The phase uses accounts 0 .. accounts - 1. */
  accounts: number
  /**
   * Callers that wait as long as it takes (a background job's settings: `queueTimeoutMs` 600 s,
   * `lockTimeoutMs` 120 s) instead of the defaults, to count grants against expiries past capacity.
   */
  patient?: boolean
  /** `refresh.coordination` of this process's engine (default "lock"). */
  coordination?: Coordination
  /**
   * When set, a directory: the process profiles its CPU from "go" to its summary (node:inspector) and
   * writes `<profileName>-<index>.cpuprofile` there (cpu-profile-summary.ts sums them by module).
   */
  profileDir?: string
  /** The profile's file name prefix (the point's name). */
  profileName?: string
}

/** Whether process `index` of `processes` asks for account `n` when `askers` processes ask for each. */
export function asks(n: number, index: number, processes: number, askers: number): boolean {
  return (((index - n) % processes) + processes) % processes < askers
}

/** The stored expiry (epoch seconds) of account `n` of `accounts` in a phase starting at `startSecond`. */
export function expiryOf(n: number, accounts: number, startSecond: number, windowSeconds: number): number {
  return startSecond + Math.floor((n * windowSeconds) / accounts)
}

/** One worker process's summary of a phase. Times in ms. */
export interface ScaleOutcome {
  calls: number
  /** getAccessToken latencies, from the call to its result (rounded to 0.1 ms). */
  latencies: number[]
  /** Calls whose result said this process's flight refreshed at the provider. */
  refreshed: number
  /** Failed calls by error code (or "ErrorName") plus what a lock timeout waited for (never a message). */
  failures: Record<string, number>
  /** The accounts whose call failed in this process. */
  failedAccounts: number[]
  /** CPU time this process used during the phase (user + system). */
  cpuMs: number
  /** Of which in the kernel (system time): socket writes and reads, loopback TCP included. */
  systemCpuMs: number
  /** Statements this process sent during the phase (node-postgres Client#query calls). */
  statements: number
  /** Those statements by kind: the text's first 80 characters, as sent. */
  statementKinds: Record<string, number>
  /** Time each pool.connect() (pool.query included) waited for a connection (rounded to 0.1 ms). */
  poolWaits: number[]
  /** The pool's waitingCount, sampled every 50 ms during the phase: the highest and the mean. */
  waitingMax: number
  waitingMean: number
  /** How late calls started against their due time (event loop lag), the worst. */
  maxLateMs: number
  /** This process's event-loop utilisation during the phase, 0..1. */
  eventLoopUtilization: number
}
