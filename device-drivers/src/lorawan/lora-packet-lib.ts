import loraPacketModule from 'lora-packet';

/**
 * lora-packet is CommonJS with `module.exports = { fromWire, ... }`; under NodeNext its
 * `export default` typing describes `.default`, which does not exist at run time. The value is
 * the module itself, so it is re-typed once here.
 */
export const lp = loraPacketModule as unknown as typeof loraPacketModule.default;
export type LoraPacket = ReturnType<typeof lp.fromWire>;
