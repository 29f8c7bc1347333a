/**
 * The name grammar of Prometheus metric and label names, in one place: worker validation, the hub,
 * cluster pushes, the Pushgateway client and service discovery all ask this module.
 * @module
 */

const CLASSIC_METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const CLASSIC_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The grammar of a classic metric name, for error messages. */
export const CLASSIC_METRIC_NAME_GRAMMAR = "[a-zA-Z_:][a-zA-Z0-9_:]*";
/** The grammar of a classic label name, for error messages. */
export const CLASSIC_LABEL_NAME_GRAMMAR = "[a-zA-Z_][a-zA-Z0-9_]*";

/** Whether `name` is a classic metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`). */
export function isClassicMetricName(name: unknown): name is string {
  return typeof name === "string" && CLASSIC_METRIC_NAME.test(name);
}

/** Whether `name` is a classic label name (`[a-zA-Z_][a-zA-Z0-9_]*`). */
export function isClassicLabelName(name: unknown): name is string {
  return typeof name === "string" && CLASSIC_LABEL_NAME.test(name);
}

/** Whether `name` starts with `__`, the prefix Prometheus reserves for its own names. */
export function isReservedName(name: string): boolean {
  return name.startsWith("__");
}

/** Whether `text` holds a lone UTF-16 surrogate, which has no UTF-8 form. */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}
