/**
 * The hub's exemplars: the latest one per counter series and per histogram bucket, kept next to the
 * values they belong to, in the shape prom-client's `getMetricsAsJSON()` gives exemplars.
 * @module
 */
import type { ExemplarRecord } from "../../shared/model/exemplar.js";
import { NATIVE_AUX_BITS } from "../../shared/model/native-histogram.js";
import { Binding, KIND_COUNTER, KIND_HISTOGRAM, KIND_NATIVE_HISTOGRAM, type CounterSeries, type ExemplarValue, type HistogramSeries } from "./binding.js";

/**
 * Keep `record`'s exemplar on the series `binding` points at: the counter series, or the histogram
 * bucket its observation went to (for a native-only histogram, its one `+Inf` bucket: one per series).
 */
export function keepExemplar(binding: Binding, record: ExemplarRecord): void {
  const exemplar: ExemplarValue = { labelSet: record.labels, value: record.value, timestamp: record.timestampMs / 1000 };
  if (binding.kind === KIND_COUNTER) {
    (binding.target as CounterSeries).exemplar = exemplar;
  } else if (binding.kind === KIND_HISTOGRAM || binding.kind === KIND_NATIVE_HISTOGRAM) {
    const bucket = binding.kind === KIND_HISTOGRAM ? record.aux : record.aux >>> NATIVE_AUX_BITS;
    if (bucket > binding.maxAux) return;
    const series = binding.target as HistogramSeries;
    (series.exemplars ??= [])[bucket] = exemplar;
  }
}
