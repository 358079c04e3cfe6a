export { startRtuBusSimulator, type RtuBusSimulator, type RtuBusOptions } from './rtu-bus-sim.js';
export { startTcpSimulator, type TcpSimulator, type TcpSimOptions } from './tcp-sim.js';
export { createSimSlave, type SimSlave, type SlaveFault, type SlaveSpec } from './sim-slave.js';
export { createSlaveImage, type SlaveImage } from './slave-image.js';
export { answerPdu } from './slave-pdu.js';
export { crc16, takeRequest, withCrc } from './rtu-frame.js';
export {
  driveSlave,
  scriptValues,
  SCRIPT_NAMES,
  type ScriptName,
  type ScriptOptions,
} from './value-script.js';
export { openPtyPair, type PtyPair } from './socat-pty-pair.js';
