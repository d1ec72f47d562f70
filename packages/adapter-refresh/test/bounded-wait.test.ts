/** The bound on the wait for a pooled connection, BEGIN and the lock (bounded-wait.ts): pure, no server. */
import { describe, expect, test } from "@jest/globals"
import { AbandonedWait, boundedStart } from "../src/bounded-wait.js"

describe("coordination primitives", () => {
  test("boundedStart: a start that comes too late is refused (AbandonedWait), the caller already has its typed error", async () => {
    let lateError: unknown
    let startCame = false
    await expect(
      boundedStart(
        30,
        () => new Error("timed out"),
        async (begin) => {
          await new Promise((resolve) => setTimeout(resolve, 80))
          startCame = true
          try {
            begin()
          } catch (error) {
            lateError = error
            throw error
          }
          return "ran"
        },
      ),
    ).rejects.toThrow("timed out")
    // The caller had its error at the bound, before the late start came (no wall-clock limit: a loaded
    // machine delays both timers, never reorders them).
    expect(startCame).toBe(false)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(lateError).toBeInstanceOf(AbandonedWait)
    await expect(
      boundedStart(
        50,
        () => new Error("timed out"),
        async (begin) => (begin(), "ran"),
      ),
    ).resolves.toBe("ran")
  })
})
