/**
 * One flight per account per process (`SingleFlight`), as getAccessToken, a refused token and the background
 * refresher use it. Each flight carries its lock bound: a caller that joined a flight with a shorter bound
 * (refreshIfUnchanged's `tryLockMs`) which gave up on the lock starts or joins another, so every caller keeps
 * its own wait. A refused token's flight never returns the refused token. Every loop is bounded (3 tries).
 * Tested with real flights and fake starts, without a database.
 */
import { RefreshLockTimeoutError } from "../errors.js"
import type { TokenSet } from "../policy/merge.js"
import { SingleFlight } from "./coordination.js"
import type { AccessTokenResult, RefreshMode } from "./engine-types.js"
import { reissuedError, type RefusedContext } from "./refused-token.js"

/** Tries per call: each ends at a lock bound, so the whole wait is bounded too. */
const MAX_TRIES = 3

/** The account flights of one engine, whose own lock bound is `lockTimeoutMs`. */
export class AccountFlights {
  /** One flight per account; its meta is the flight's lock bound (ms). */
  private readonly flights = new SingleFlight<AccessTokenResult, number>()

  constructor(private readonly lockTimeoutMs: number) {}

  /** The background refresher's flight: joins the account's flight, or starts one bounded by `tryLockMs`. */
  run(id: string, tryLockMs: number, start: () => Promise<AccessTokenResult>): Promise<AccessTokenResult> {
    return this.flights.run(id, tryLockMs, start)
  }

  /**
   * getAccessToken's flight. A joined flight that gave up on a shorter lock bound than ours is followed by one
   * with our bound; a slot or provider wait is not a lock wait and ends the call.
   */
  async onDemand(id: string, start: () => Promise<AccessTokenResult>): Promise<AccessTokenResult> {
    for (let attempt = 1; ; attempt++) {
      const flight = this.flights.join(id, this.lockTimeoutMs, start)
      try {
        return await flight.promise
      } catch (error) {
        const shorterWait =
          flight.meta < this.lockTimeoutMs &&
          error instanceof RefreshLockTimeoutError &&
          error.waitedFor !== "refresh_slot" &&
          error.waitedFor !== "provider_slot"
        if (!shorterWait || attempt >= MAX_TRIES) throw error
      }
    }
  }

  /**
   * The flight of a refused token: the account's one flight, started with the refused token's `mode` unless
   * one is under way. A joined flight that ended on the refused token (it started before the refusal) is
   * followed by one of its own; one of its own that did is the provider issuing the same token again.
   */
  async refused(
    id: string,
    refusal: RefusedContext,
    mode: RefreshMode,
    start: (mode: RefreshMode, fresh: (tokens: TokenSet) => boolean) => Promise<AccessTokenResult>,
  ): Promise<AccessTokenResult> {
    const fresh = (tokens: TokenSet): boolean => tokens.access_token !== refusal.refused && refusal.freshTokens(tokens)
    for (let attempt = 1; ; attempt++) {
      let ours = false
      const result = await this.onDemand(id, () => {
        ours = true
        return start(mode, fresh)
      })
      if (result.accessToken !== refusal.refused) return result
      if (ours || attempt >= MAX_TRIES) throw reissuedError(refusal)
    }
  }
}
