import type { Db } from '../src/store/open-database.js';
import { createSharedSeqState } from '../src/store/shared-seq-state.js';
import { runSeqStateSuite } from './seq-state-suite.js';

// Across two processes on one file: external-broker.test.ts ("shared seq state across processes").
runSeqStateSuite('shared (store/shared-seq-state.ts)', (db: Db) => createSharedSeqState(db));
