// The one copy of the test helpers every package's tests use (issue 19). Dev only: no src imports it.
export { waitFor, type WaitOptions } from './wait-for.js';
export { freePort, freeUdpPort } from './free-port.js';
export { fetchMetrics, parsePrometheusText } from './prometheus-text.js';
export { type ServerProcess, startServerProcess } from './server-process.js';
export { type ToolResult, runTool } from './run-tool.js';
export { type Influxd, type InfluxResult, startInfluxd } from './influxd.js';
export { influxReadings } from './influx-readings.js';
export { type Mosquitto, startMosquitto } from './mosquitto.js';
export { PG_BIN, type Postgres, type PostgresOptions, startPostgres } from './postgres.js';
export { type IssuedCert, type TestCa, makeTestCa } from './test-ca.js';
export { type WebhookReceiver, type WebhookRequest, startWebhookReceiver } from './webhook-receiver.js';
export {
  FUZZ_RUNS,
  FUZZ_SEED,
  MAX_DECODE_MS,
  type Outcome,
  decodeChecked,
  framesFrom,
  fuzzParams,
  textsFrom,
  typedWithCode,
} from './fuzz-fixtures.js';
export { type RecordingDriverContext, recordingDriverContext } from './recording-driver-context.js';
export { CHROMIUM_ARGS, CHROMIUM_PATH, launchChromium } from './chromium.js';
