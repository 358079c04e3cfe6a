import { type CodecProfile, loadCodecProfile } from '../codecs/codec-profile.js';
import { type ConformanceFailure, codecConformance } from './codec-conformance.js';
import { loadCodecExamples } from './codec-examples.js';

/**
 * A codec profile (a JavaScript codec as data) through the same kit as the built-in codecs: the
 * profile loads and its code compiles (else CodecProfileError, a bad file), then codecConformance
 * runs it against the examples file the profile names. A profile without examples fails the
 * `examples` check: its examples are its tests.
 */
export function codecProfileConformance(file: string): {
  profile: CodecProfile;
  failures: ConformanceFailure[];
} {
  const profile = loadCodecProfile(file);
  try {
    if (profile.examplesFile === undefined) {
      return {
        profile,
        failures: [{ check: 'examples', message: `${profile.file}: examples: names no examples file` }],
      };
    }
    return { profile, failures: codecConformance(profile.codec, loadCodecExamples(profile.examplesFile)) };
  } finally {
    profile.codec.dispose();
  }
}
