/**
 * The hub's exemplars: the latest one per counter series and per histogram bucket, kept next to the
 * values they belong to, in the shape prom-client's `getMetricsAsJSON()` gives exemplars; and for a
 * native histogram series, up to `nativeHistogramMaxExemplars` more (see native-buckets.ts).
 * @module
 */
import type { ExemplarRecord } from "../../shared/model/exemplar.js";
import { kNativeAuxBits } from "../../shared/model/native-histogram.js";
import type { NativeHistogramSeries } from "./native-buckets.js";
import { type Binding, kKindCounter, kKindHistogram, kKindNativeHistogram, type CounterSeries, type ExemplarValue, type HistogramSeries } from "./binding.js";

/**
 * Keep `record`'s exemplar on the series `binding` points at: the counter series, or the histogram
 * bucket its observation went to (for a native-only histogram, its one `+Inf` bucket: one per series).
 */
export function keepExemplar(binding: Binding, record: ExemplarRecord): void {
  const exemplar: ExemplarValue = { labelSet: record.labels, value: record.value, timestamp: record.timestampMs / 1000 };
  keepExemplarAt(binding, binding.kind === kKindNativeHistogram ? record.aux >>> kNativeAuxBits : record.aux, exemplar);
}

/**
 * Keep `exemplar` on bucket `bucket` of the series `binding` points at (0 for a counter), unless the one
 * kept there is newer: several threads may record exemplars for one series, and an exemplar that came
 * through the ring may arrive after a newer one read from a table.
 */
export function keepExemplarAt(binding: Binding, bucket: number, exemplar: ExemplarValue): void {
  if (binding.kind === kKindCounter) {
    const series = binding.target as CounterSeries;
    if (series.exemplar === undefined || series.exemplar.timestamp <= exemplar.timestamp) series.exemplar = exemplar;
  } else if (binding.kind === kKindHistogram || binding.kind === kKindNativeHistogram) {
    if (bucket > binding.maxAux) return;
    const series = binding.target as HistogramSeries;
    series.exemplars ??= [];
    const exemplars = series.exemplars;
    const kept = exemplars[bucket];
    if (kept === undefined || kept.timestamp <= exemplar.timestamp) exemplars[bucket] = exemplar;
    // A native histogram also keeps up to nativeHistogramMaxExemplars per series, client_golang's way.
    if (binding.kind === kKindNativeHistogram) (series as NativeHistogramSeries).nativeExemplars.add(exemplar);
  }
}
