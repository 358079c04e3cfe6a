import { type EngineState, restoreState, serializeState } from '@village/rules';

/**
 * A rules partition's engine state as the shared store keeps it (SavedRulesState.state): the
 * engine's own JSON (serializeState), as UTF-8 bytes.
 */
export const encodeState = (state: EngineState): Uint8Array =>
  new TextEncoder().encode(serializeState(state));

export const decodeState = (bytes: Uint8Array): EngineState => restoreState(new TextDecoder().decode(bytes));
