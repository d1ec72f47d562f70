import { describe, expect, test } from "@jest/globals"
import { AdaptiveAdmission, admissionBounds, type AdmissionRelease } from "../../src/refresh/admission.js"
import { SlotWaitTimeout } from "../../src/refresh/coordination.js"

/** A clock the test moves by hand. */
function manualClock() {
  let t = 0
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

const bounds = { initial: 4, min: 2, max: 16, slowMs: 5_000 }

async function admitAll(admission: AdaptiveAdmission, n: number): Promise<AdmissionRelease[]> {
  const releases: AdmissionRelease[] = []
  for (let i = 0; i < n; i++) releases.push(await admission.acquire(1_000))
  return releases
}

describe("AdaptiveAdmission", () => {
  test("quick flights double the limit per round until the first slow one (slow start)", async () => {
    const clock = manualClock()
    const admission = new AdaptiveAdmission(bounds, clock.now)
    const round = await admitAll(admission, 4)
    clock.advance(1_500)
    for (const release of round) release(true)
    // Control: raise by 1/limit from the start: 4 + 4 * 1/4.. = about 4.9, limit 4.
    expect(admission.limit).toBe(8)
  })

  test("a slow flight halves the limit once per round; the others admitted before it are ignored", async () => {
    const clock = manualClock()
    const admission = new AdaptiveAdmission({ ...bounds, initial: 16 }, clock.now)
    const round = await admitAll(admission, 16)
    clock.advance(6_000)
    for (const release of round) release(true)
    // Control: halve on every slow sample: 16 halvings, down to min (2).
    expect(admission.limit).toBe(8)
    // A flight admitted after the halving that is slow too halves again.
    const [next] = await admitAll(admission, 1)
    clock.advance(6_000)
    next!(true)
    expect(admission.limit).toBe(4)
  })

  test("after a halving, quick flights add one per round (1/limit each)", async () => {
    const clock = manualClock()
    const admission = new AdaptiveAdmission({ ...bounds, initial: 8 }, clock.now)
    const [slow] = await admitAll(admission, 1)
    clock.advance(6_000)
    slow!(true)
    expect(admission.limit).toBe(4)
    const round = await admitAll(admission, 4)
    clock.advance(100)
    for (const release of round) release(true)
    // 4 + 1/4 + 1/4.25 + ... stays below 5 after one round of 4, and reaches 5 in the next.
    expect(admission.limit).toBe(4)
    for (const release of await admitAll(admission, 4)) release(true)
    expect(admission.limit).toBe(5)
  })

  test("never below min, never above max", async () => {
    const clock = manualClock()
    const admission = new AdaptiveAdmission(bounds, clock.now)
    for (let i = 0; i < 10; i++) {
      const [release] = await admitAll(admission, 1)
      clock.advance(6_000)
      release!(true)
    }
    expect(admission.limit).toBe(2)
    const fresh = new AdaptiveAdmission(bounds, clock.now)
    for (let i = 0; i < 100; i++) (await fresh.acquire(10))(true)
    expect(fresh.limit).toBe(16)
  })

  test("a place given back without a flight (a busy lease) is no sample; a waiter gets it", async () => {
    const admission = new AdaptiveAdmission({ ...bounds, initial: 2 })
    const [a, b] = await admitAll(admission, 2)
    const waiting = admission.acquire(1_000)
    a!(false)
    const c = await waiting
    expect(admission.limit).toBe(2)
    expect(admission.admitted).toBe(2)
    // Released twice: counted once.
    a!(false)
    expect(admission.admitted).toBe(2)
    b!(false)
    c(false)
    expect(admission.admitted).toBe(0)
  })

  test("a full admission's wait is bounded: SlotWaitTimeout, and the place it did not get is not counted", async () => {
    const admission = new AdaptiveAdmission({ ...bounds, initial: 2 })
    const held = await admitAll(admission, 2)
    await expect(admission.acquire(20)).rejects.toBeInstanceOf(SlotWaitTimeout)
    for (const release of held) release(false)
    expect(admission.admitted).toBe(0)
    await expect(admission.acquire(20)).resolves.toBeInstanceOf(Function)
  })

  test("bad bounds are a RangeError; the defaults follow the request timeout", () => {
    expect(() => new AdaptiveAdmission({ ...bounds, min: 0 })).toThrow(RangeError)
    expect(() => new AdaptiveAdmission({ ...bounds, initial: 32 })).toThrow(RangeError)
    expect(admissionBounds(10_000)).toEqual({ initial: 64, min: 2, max: 64, slowMs: 2_500 })
  })
})
