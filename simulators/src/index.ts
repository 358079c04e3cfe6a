export * from './lorawan/index.js';
export * from './nbiot/index.js';
export * from './camera/index.js';
export * from './modbus/index.js';
