export { cameraDriverKind, createCameraDriver, type CameraDriver } from './camera-driver.js';
export { cameraConfigSchema, type CameraConfig, type CameraEntry } from './config.js';
export { CAMERA_EVENT_TYPES, type CameraEventType } from './camera-event-types.js';
export { hmacSignature } from './camera-auth.js';
export { jsonAlertSchema } from './json-alert.js';
export { IsapiError, MAX_ISAPI_XML_BYTES } from './isapi-alert.js';
export { SIP_LIMITS, SipParseError, parseSip } from './sip-message.js';
