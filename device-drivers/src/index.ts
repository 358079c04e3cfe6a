export * from './driver.js';
export { fakeDriverKind, createFakeDriver, type FakeConfig } from './fake/fake-driver.js';
