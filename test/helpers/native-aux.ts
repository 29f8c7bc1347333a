/**
 * Readers and writers of a native histogram record's `aux` word (classic bucket in the high bits, native
 * field in the low ones), written from the layout the model module gives: the worker and the hub do the
 * same arithmetic inline on their hot paths, so these exist for the tests that check it.
 */
import { kNativeAuxBits, kNativeAuxMask, kNativeZeroBucket } from "../../src/shared/model/native-histogram.js";

/** Pack a classic bucket and a native field into an `aux` word. */
export function packNativeAux(classicBucket: number, nativeField: number): number {
  return ((classicBucket << kNativeAuxBits) | (nativeField & kNativeAuxMask)) >>> 0;
}

/** Whether an `aux` word's native field is the zero bucket. */
export function isZeroBucketAux(aux: number): boolean {
  return (aux & kNativeAuxMask) === kNativeZeroBucket;
}

/** The classic bucket of an `aux` word. */
export function classicBucketOfAux(aux: number): number {
  return aux >>> kNativeAuxBits;
}
