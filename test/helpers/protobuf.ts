/**
 * A small protobuf reader for tests: decodes the wire format, then io.prometheus.client.MetricFamily
 * (field numbers from client_model's metrics.proto), independently of the library's writer.
 */

type Field = { wire: number; value: bigint | number | Uint8Array };

/** Decode one message into its fields, by field number, in order. */
export function fields(bytes: Uint8Array): Map<number, Field[]> {
  const out = new Map<number, Field[]>();
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = bytes[pos++];
      if (byte === undefined) throw new Error("truncated varint");
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < bytes.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    let value: Field["value"];
    if (wire === 0) value = varint();
    else if (wire === 1) {
      value = new DataView(bytes.buffer, bytes.byteOffset + pos, 8).getFloat64(0, true);
      pos += 8;
    } else if (wire === 2) {
      const length = Number(varint());
      value = bytes.subarray(pos, pos + length);
      if (value.length !== length) throw new Error("truncated message");
      pos += length;
    } else throw new Error(`unexpected wire type ${wire}`);
    const list = out.get(field) ?? [];
    list.push({ wire, value });
    out.set(field, list);
  }
  return out;
}

/** Split a delimited stream into messages. */
export function delimited(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    let length = 0;
    let shift = 0;
    for (;;) {
      const byte = bytes[pos++] as number;
      length += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if ((byte & 0x80) === 0) break;
    }
    out.push(bytes.subarray(pos, pos + length));
    pos += length;
  }
  return out;
}

const text = new TextDecoder();
const str = (f: Field | undefined): string => (f === undefined ? "" : text.decode(f.value as Uint8Array));
const num = (f: Field | undefined): number => (f === undefined ? 0 : typeof f.value === "bigint" ? Number(f.value) : (f.value as number));
const zig = (v: bigint): number => Number(v & 1n ? -((v + 1n) >> 1n) : v >> 1n);
const sub = (f: Field): Map<number, Field[]> => fields(f.value as Uint8Array);

export interface DecodedExemplar {
  labels: Record<string, string>;
  value: number;
  timestamp?: number;
}

export interface DecodedMetric {
  labels: Record<string, string>;
  counter?: { value: number; exemplar?: DecodedExemplar };
  gauge?: number;
  untyped?: number;
  summary?: { count: number; sum: number; quantiles: Array<[number, number]> };
  histogram?: {
    count: number;
    sum: number;
    buckets: Array<{ count: number; le: number; exemplar?: DecodedExemplar }>;
    schema?: number;
    zeroThreshold?: number;
    zeroCount?: number;
    negativeSpans: Array<[number, number]>;
    negativeDeltas: number[];
    positiveSpans: Array<[number, number]>;
    positiveDeltas: number[];
    /** The native histogram's own exemplars (field 16), when it has any. */
    exemplars?: DecodedExemplar[];
  };
}

export interface DecodedFamily {
  name: string;
  help: string;
  type: number;
  metrics: DecodedMetric[];
}

function labelsOf(list: Field[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of list ?? []) {
    const f = sub(pair);
    out[str(f.get(1)?.[0])] = str(f.get(2)?.[0]);
  }
  return out;
}

function exemplarOf(f: Field | undefined): DecodedExemplar | undefined {
  if (f === undefined) return undefined;
  const m = sub(f);
  const ts = m.get(3)?.[0];
  const ex: DecodedExemplar = { labels: labelsOf(m.get(1)), value: num(m.get(2)?.[0]) };
  if (ts !== undefined) {
    const t = sub(ts);
    ex.timestamp = num(t.get(1)?.[0]) + num(t.get(2)?.[0]) / 1e9;
  }
  return ex;
}

function packedZigzag(list: Field[] | undefined): number[] {
  const out: number[] = [];
  for (const f of list ?? []) {
    // metrics.proto is proto2: a Go encoder writes each delta as its own varint, not packed.
    if (typeof f.value === "bigint") {
      out.push(zig(f.value));
      continue;
    }
    const bytes = f.value as Uint8Array;
    let pos = 0;
    while (pos < bytes.length) {
      let v = 0n;
      let shift = 0n;
      for (;;) {
        const byte = bytes[pos++] as number;
        v |= BigInt(byte & 0x7f) << shift;
        shift += 7n;
        if ((byte & 0x80) === 0) break;
      }
      out.push(zig(v));
    }
  }
  return out;
}

function spans(list: Field[] | undefined): Array<[number, number]> {
  return (list ?? []).map((f) => {
    const m = sub(f);
    const offset = m.get(1)?.[0];
    return [offset === undefined ? 0 : zig(offset.value as bigint), num(m.get(2)?.[0])];
  });
}

/** Decode a delimited MetricFamily stream. */
export function decodeMetricFamilies(bytes: Uint8Array): DecodedFamily[] {
  return delimited(bytes).map((message) => {
    const f = fields(message);
    return {
      name: str(f.get(1)?.[0]),
      help: str(f.get(2)?.[0]),
      type: num(f.get(3)?.[0]),
      metrics: (f.get(4) ?? []).map((mf) => {
        const m = sub(mf);
        const metric: DecodedMetric = { labels: labelsOf(m.get(1)) };
        const gauge = m.get(2)?.[0];
        if (gauge) metric.gauge = num(sub(gauge).get(1)?.[0]);
        const untyped = m.get(5)?.[0];
        if (untyped) metric.untyped = num(sub(untyped).get(1)?.[0]);
        const counter = m.get(3)?.[0];
        if (counter) {
          const c = sub(counter);
          metric.counter = { value: num(c.get(1)?.[0]) };
          const ex = exemplarOf(c.get(2)?.[0]);
          if (ex) metric.counter.exemplar = ex;
        }
        const summary = m.get(4)?.[0];
        if (summary) {
          const s = sub(summary);
          metric.summary = {
            count: num(s.get(1)?.[0]),
            sum: num(s.get(2)?.[0]),
            quantiles: (s.get(3) ?? []).map((q) => {
              const qq = sub(q);
              return [num(qq.get(1)?.[0]), num(qq.get(2)?.[0])];
            }),
          };
        }
        const histogram = m.get(7)?.[0];
        if (histogram) {
          const h = sub(histogram);
          const schema = h.get(5)?.[0];
          metric.histogram = {
            count: num(h.get(1)?.[0]),
            sum: num(h.get(2)?.[0]),
            buckets: (h.get(3) ?? []).map((b) => {
              const bb = sub(b);
              const ex = exemplarOf(bb.get(3)?.[0]);
              return { count: num(bb.get(1)?.[0]), le: num(bb.get(2)?.[0]), ...(ex ? { exemplar: ex } : {}) };
            }),
            negativeSpans: spans(h.get(9)),
            negativeDeltas: packedZigzag(h.get(10)),
            positiveSpans: spans(h.get(12)),
            positiveDeltas: packedZigzag(h.get(13)),
          };
          if (schema !== undefined) metric.histogram.schema = zig(schema.value as bigint);
          if (h.get(6)) metric.histogram.zeroThreshold = num(h.get(6)?.[0]);
          if (h.get(7)) metric.histogram.zeroCount = num(h.get(7)?.[0]);
          if (h.get(16)) metric.histogram.exemplars = (h.get(16) ?? []).map((e) => exemplarOf(e) as DecodedExemplar);
        }
        return metric;
      }),
    };
  });
}
