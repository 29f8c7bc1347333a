/**
 * What both entry points export: the wrappers, the errors and the configuration types.
 * @module
 */
export { time, countExceptions, trackInProgress } from "./wrappers.js";
export type {
  Clock,
  CountExceptionsOptions,
  ExceptionFilter,
  Incrementer,
  LabeledIncrementer,
  LabeledObserver,
  MethodDecorator,
  Observer,
  TimeOptions,
  UpDown,
} from "./wrappers.js";
export {
  PromThreadsError,
  ConfigurationError,
  RecordingError,
  ConnectionError,
  ProtocolError,
  OperationError,
  ErrorCodes,
  type ErrorCode,
  type ConfigurationErrorCode,
  type RecordingErrorCode,
  type ConnectionErrorCode,
  type ProtocolErrorCode,
  type OperationErrorCode,
} from "./errors.js";
export type { HubHandle, HubWorkerData } from "../transport/handle.js";
export type {
  ClusterAggregator,
  CounterConfiguration,
  GaugeAggregate,
  GaugeConfiguration,
  HistogramConfiguration,
  LabelValue,
  LabelValues,
  SummaryConfiguration,
} from "../model/types.js";
