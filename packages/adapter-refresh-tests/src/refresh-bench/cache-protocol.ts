/**
 * The IPC protocol of cache-worker.ts, and the parent's side: start a worker, ask it, stop it. Every
 * request has a bound.
 */
import { fork, type ChildProcess } from "node:child_process"
import { fileURLToPath } from "node:url"
import type { TokenCacheStats } from "authjs-adapter-refresh"
import { workerNodeFlags } from "../kit/barrier-workers.js"
import type { StormProviderSettings } from "./storm-protocol.js"

export interface CacheWorkerConfig {
  databaseUrl: string
  provider: StormProviderSettings
  userId: string
  skewSeconds: number
  /** Listen for the triggers' NOTIFY (pgNotifyInvalidation); else the cache's bound is maxAgeMs alone. */
  invalidation: boolean
  maxAgeMs?: number
}

type Seq = { seq: number }
export type CacheWorkerRequest =
  | ({ type: "ready"; timeoutMs: number } & Seq)
  | ({ type: "get" } & Seq)
  | ({ type: "watch"; from: string; timeoutMs: number } & Seq)
  | ({ type: "stop" } & Seq)

export type CacheWorkerReply =
  | { type: "started" }
  | ({ type: "ok" } & Seq)
  | ({
      type: "got"
      fingerprint?: string
      error?: string
      refreshed?: boolean
      cached: boolean
      stats: TokenCacheStats
    } & Seq)
  | ({ type: "changed"; label: string; at: number; calls: number; stats: TokenCacheStats } & Seq)
  | ({ type: "unchanged"; calls: number; stats: TokenCacheStats } & Seq)
  | ({ type: "failed"; reason: string } & Seq)

type Request = CacheWorkerRequest extends infer R ? (R extends Seq ? Omit<R, "seq"> : never) : never

export interface CacheWorker {
  ask<T extends CacheWorkerReply["type"]>(
    request: Request,
    expect: T,
    timeoutMs?: number,
  ): Promise<Extract<CacheWorkerReply, { type: T }>>
  stop(): Promise<void>
}

const workerFile = fileURLToPath(new URL("./cache-worker.ts", import.meta.url))

export async function startCacheWorker(config: CacheWorkerConfig, startTimeoutMs = 30_000): Promise<CacheWorker> {
  const child: ChildProcess = fork(workerFile, [JSON.stringify(config)], {
    execArgv: workerNodeFlags(workerFile),
    stdio: ["ignore", "inherit", "pipe", "ipc"],
  })
  let stderr = ""
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)))
  const pending = new Map<number, (reply: CacheWorkerReply) => void>()
  let seq = 0
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`cache worker did not start within ${startTimeoutMs} ms; stderr: ${stderr}`)),
      startTimeoutMs,
    )
    child.on("message", (reply: CacheWorkerReply) => {
      if (reply.type === "started") {
        clearTimeout(timer)
        resolve()
      } else pending.get(reply.seq)?.(reply)
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`cache worker exited (${code}); stderr: ${stderr}`))
    })
  })
  await started
  const worker: CacheWorker = {
    ask(request, expect, timeoutMs = 30_000) {
      const id = ++seq
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id)
          reject(new Error(`cache worker: no answer to ${request.type} within ${timeoutMs} ms; stderr: ${stderr}`))
        }, timeoutMs)
        pending.set(id, (reply) => {
          clearTimeout(timer)
          pending.delete(id)
          if (reply.type === expect) resolve(reply as Extract<CacheWorkerReply, { type: typeof expect }>)
          else reject(new Error(`cache worker answered ${request.type} with ${JSON.stringify(reply).slice(0, 500)}`))
        })
        child.send({ ...request, seq: id })
      })
    },
    async stop() {
      if (child.exitCode !== null || !child.connected) return
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
      await worker.ask({ type: "stop" }, "ok", 15_000).catch(() => child.kill("SIGKILL"))
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000)
      await exited
      clearTimeout(timer)
    },
  }
  return worker
}
