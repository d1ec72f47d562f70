import { createInterface } from "node:readline"
import type { BarrierMessage } from "./barrier-workers.js"

/**
 * The worker side of runBarrierWorkers: `prepare` builds what the burst needs, then the worker says
 * "ready", waits for "go", runs `burst` and reports its outcomes; `cleanup` runs last. A failure before
 * the burst is reported as {"type":"failed"} with the error's name and message.
 */
export async function runBarrierWorker<State, Outcome>(
  prepare: () => Promise<State>,
  burst: (state: State) => Promise<Outcome[]>,
  cleanup: (state: State) => Promise<void>,
): Promise<void> {
  const send = (message: BarrierMessage<Outcome>): void => {
    process.stdout.write(`${JSON.stringify(message)}\n`)
  }
  try {
    const state = await prepare()
    send({ type: "ready", pid: process.pid })
    const lines = createInterface({ input: process.stdin })
    await new Promise<void>((resolve) => lines.once("line", () => resolve()))
    lines.close()
    send({ type: "done", pid: process.pid, outcomes: await burst(state) })
    await cleanup(state)
  } catch (error) {
    send({
      type: "failed",
      pid: process.pid,
      reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    })
    process.exitCode = 1
  }
}

/** An error as "Name CODE" for an outcome: never the message, which a broken implementation might fill with tokens. */
export function errorLabel(error: unknown, code: unknown = (error as { code?: unknown } | null)?.code): string {
  const name = error instanceof Error ? error.name : typeof error
  return code === undefined ? name : `${name} ${String(code)}`
}
