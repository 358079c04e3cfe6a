import { createSeqState } from '../src/store/seq-state.js';
import { runSeqStateSuite } from './seq-state-suite.js';

runSeqStateSuite('in-process (store/seq-state.ts)', createSeqState);
