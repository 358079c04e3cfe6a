/**
 * The conformance kit for device vendors and protocol authors (docs/vendor-guide.md): checks a
 * codec against the one codec contract and its examples file, a driver against what every
 * driver owes the edge, and lists the shipped codecs so the project's own test runs them all.
 */
export { codecConformance, type ConformanceFailure } from './codec-conformance.js';
export {
  CodecExamplesError,
  codecExamplesSchema,
  loadCodecExamples,
  type CodecExample,
} from './codec-examples.js';
export { createConformanceContext, type ConformanceContext } from './conformance-context.js';
export { codecProfileConformance } from './profile-conformance.js';
export {
  CodecProfileError,
  SHIPPED_CODEC_PROFILES_DIR,
  codecProfileSchema,
  loadCodecProfile,
  type CodecProfile,
} from '../codecs/codec-profile.js';
export { JsCodecError, createJsCodec, type JsCodec, type JsCodecLimits } from '../codecs/js-codec.js';
export { driverConformance, type DriverHarness, type ListenPort } from './driver-conformance.js';
export {
  SHIPPED_CODECS,
  lorawanDeviceCodec,
  nbiotDeviceCodec,
  type ShippedCodec,
} from '../codec-registry.js';
export type { DeviceCodec, DecodeResult, DownlinkInput, DownlinkResult } from '../codecs/codec.js';
