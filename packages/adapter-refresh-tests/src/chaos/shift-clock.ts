/**
 * A preload (`node --import`) that shifts this process's wall clock by AUTHJS_REFRESH_CLOCK_SHIFT_MS: `Date.now()`
 * and `new Date()` read that much ahead (or behind, negative). For the test of processes whose clocks disagree;
 * the monotonic clock (`performance.now()`) is left alone, as a wrong wall clock leaves it.
 */
const shift = Number(process.env.AUTHJS_REFRESH_CLOCK_SHIFT_MS ?? "0")
if (Number.isFinite(shift) && shift !== 0) {
  const RealDate = Date
  const now = (): number => RealDate.now() + shift
  class ShiftedDate extends RealDate {
    constructor(...args: ConstructorParameters<DateConstructor> | []) {
      if (args.length === 0) super(now())
      else super(...(args as ConstructorParameters<DateConstructor>))
    }
    static override now(): number {
      return now()
    }
  }
  globalThis.Date = ShiftedDate as DateConstructor
}
