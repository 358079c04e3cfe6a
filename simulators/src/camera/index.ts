export {
  createIsapiCamera,
  isapiAlertXml,
  type IsapiAlarm,
  type IsapiCameraOptions,
} from './isapi-camera.js';
export { createJsonCamera, type JsonCameraEvent } from './json-camera.js';
export {
  createGb28181Device,
  SipTimeoutError,
  type Gb28181Alarm,
  type Gb28181DeviceOptions,
} from './gb28181-device.js';
export { postWithAuth, type CameraAuth } from './http-auth-client.js';
export { multipartBody, type Part } from './multipart-body.js';
