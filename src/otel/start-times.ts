/**
 * Start times of cumulative series: when the producer may say a series began counting.
 * @module
 */

interface SeriesStart {
  startMs: number;
  /** The metric's reset time this start accounts for. */
  resetAtMs: number | undefined;
  /** The collect that last saw the series. */
  seen: number;
}

/**
 * Track a start time per series, in ms since the epoch:
 * - a series in the first collect starts when the process started (no record of it can be older);
 * - a series first seen later starts at the previous collect, which did not have it yet;
 * - a reset moves the start of every series of its metric to the time of the reset;
 * - a series that went away (a gauge whose workers exited) starts anew when it comes back.
 * A new process starts its series anew, so a restart moves them too.
 */
export class StartTimes {
  readonly #series = new Map<string, SeriesStart>();
  #collects = 0;
  /** When the previous collect read the hub; the process start before the first. */
  #previousMs = performance.timeOrigin;

  /** Begin a collect that reads the hub at `nowMs`. */
  begin(): void {
    this.#collects++;
  }

  /** The start of the series `key` of a metric last reset at `resetAtMs`. */
  startOf(key: string, resetAtMs: number | undefined): number {
    let series = this.#series.get(key);
    if (series === undefined || series.seen !== this.#collects - 1) {
      series = { startMs: resetAtMs ?? this.#previousMs, resetAtMs, seen: this.#collects };
      if (resetAtMs !== undefined && this.#previousMs > resetAtMs) series.startMs = this.#previousMs;
      this.#series.set(key, series);
    } else if (series.resetAtMs !== resetAtMs) {
      series.startMs = resetAtMs ?? series.startMs;
      series.resetAtMs = resetAtMs;
    }
    series.seen = this.#collects;
    return series.startMs;
  }

  /** End the collect made at `nowMs`: forget the series it did not see. */
  end(nowMs: number): void {
    for (const [key, series] of this.#series) if (series.seen !== this.#collects) this.#series.delete(key);
    this.#previousMs = nowMs;
  }
}
