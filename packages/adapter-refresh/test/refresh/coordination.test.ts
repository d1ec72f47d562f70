/** In-process coordination (refresh/coordination.ts): the per-process refresh cap's semaphore. */
import { describe, expect, test } from "@jest/globals"
import { Semaphore, SlotWaitTimeout } from "../../src/refresh/coordination.js"

describe("coordination primitives", () => {
  test("Semaphore: at most `limit` at once, first come first served, bounded wait", async () => {
    const slots = new Semaphore(2)
    let active = 0
    let peak = 0
    const order: number[] = []
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        slots.run(1_000, async () => {
          active++
          peak = Math.max(peak, active)
          order.push(i)
          await new Promise((resolve) => setTimeout(resolve, 10))
          active--
        }),
      ),
    )
    expect(peak).toBe(2)
    expect(order).toEqual([0, 1, 2, 3, 4, 5])
    const release = await slots.acquire(10)
    const release2 = await slots.acquire(10)
    await expect(slots.acquire(20)).rejects.toBeInstanceOf(SlotWaitTimeout)
    release()
    release2()
    ;(await slots.acquire(10))()
  })
})
