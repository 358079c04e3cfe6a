import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AuthOutcome, AuthRequest, ResolvedAuth } from './camera-auth.js';
import type { CameraMessage } from './camera-event-types.js';
import { IsapiError, isIsapiXml, parseIsapiAlert } from './isapi-alert.js';
import { JsonAlertError, parseJsonAlert } from './json-alert.js';

/**
 * The HTTP listener cameras push events to:
 *   POST /cam/{id}/isapi      Hikvision EventNotificationAlert XML, alone or multipart with a JPEG
 *   POST /cam/{id}/events     generic JSON event, alone or multipart (`event` + `snapshot` parts)
 *   POST /cam/{id}/heartbeat  sign of life (empty body)
 * The answer (200) is sent only after the event is durably in the edge outbox.
 */
export interface Snapshot {
  bytes: Uint8Array;
  contentType: string;
}

export interface HttpListenerDeps {
  port: number;
  bind: string;
  maxBodyBytes: number;
  authFor(cameraId: string): ResolvedAuth | undefined;
  authenticate(cameraId: string, auth: ResolvedAuth, req: AuthRequest): AuthOutcome;
  /** Stores the snapshot and emits the event; resolves when the outbox has it. */
  deliver(cameraId: string, msg: CameraMessage | { kind: 'ended' }, snapshot?: Snapshot): Promise<void>;
  countError(reason: string): void;
  warn(obj: object, msg: string): void;
}

class BadRequest extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startHttpListener(
  deps: HttpListenerDeps,
): Promise<{ port: number; close(): Promise<void> }> {
  const app = new Hono();
  const refuse = (status: 400 | 401 | 404 | 413 | 415, reason: string, detail: string, cameraId?: string) => {
    deps.countError(`camera_http_${reason}`);
    deps.warn({ camera: cameraId, status, reason, detail }, 'camera: push refused');
    return new Response(`${detail}\n`, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  };

  app.use(
    '*',
    bodyLimit({
      maxSize: deps.maxBodyBytes,
      onError: () => refuse(413, 'too_large', `body larger than ${deps.maxBodyBytes} bytes`),
    }),
  );

  app.post('/cam/:id/:kind{isapi|events|heartbeat}', async (c) => {
    const cameraId = c.req.param('id');
    const kind = c.req.param('kind');
    const auth = deps.authFor(cameraId);
    const body = new Uint8Array(await c.req.arrayBuffer());
    const url = new URL(c.req.url);
    if (!auth) return refuse(401, 'unknown_camera', 'unknown camera or bad credentials', cameraId);
    const outcome = deps.authenticate(cameraId, auth, {
      method: c.req.method,
      target: url.pathname + url.search,
      header: (n) => c.req.header(n),
      body,
    });
    if (!outcome.ok) {
      const res = refuse(401, `auth_${outcome.reason}`, 'unknown camera or bad credentials', cameraId);
      for (const ch of outcome.challenge ?? []) res.headers.append('WWW-Authenticate', ch);
      return res;
    }
    try {
      const contentType = c.req.header('content-type') ?? '';
      let msg: CameraMessage | { kind: 'ended' };
      let snapshot: Snapshot | undefined;
      if (kind === 'heartbeat') {
        msg = { kind: 'heartbeat' };
      } else if (/^multipart\/form-data/i.test(contentType)) {
        ({ msg, snapshot } = await parseMultipart(kind, body, contentType));
      } else {
        msg = parseDocument(kind, Buffer.from(body).toString('utf8'));
      }
      await deps.deliver(cameraId, msg, snapshot);
      return c.text('OK\n', 200);
    } catch (err) {
      if (err instanceof BadRequest) return refuse(400, err.reason, err.message, cameraId);
      if (err instanceof IsapiError) return refuse(400, `isapi_${err.code}`, err.message, cameraId);
      if (err instanceof JsonAlertError) return refuse(400, 'bad_json', err.message, cameraId);
      throw err;
    }
  });

  app.notFound(() =>
    refuse(404, 'not_found', 'POST /cam/{id}/isapi | /cam/{id}/events | /cam/{id}/heartbeat'),
  );
  app.onError((err) => {
    deps.countError('camera_http_internal');
    deps.warn({ err: err.message }, 'camera: push handler failed');
    // 503: the camera should retry (e.g. the outbox was briefly unavailable).
    return new Response('edge cannot store the event now, retry\n', { status: 503 });
  });

  let server: Server | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    server = serve({ fetch: app.fetch, port: deps.port, hostname: deps.bind }, (info: AddressInfo) =>
      resolve(info.port),
    ) as Server;
    server.once('error', reject);
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server?.closeAllConnections();
        server?.close(() => resolve());
      }),
  };
}

function parseDocument(kind: string, text: string): CameraMessage | { kind: 'ended' } {
  if (kind === 'isapi') {
    if (!isIsapiXml(text)) throw new BadRequest('isapi_bad_shape', 'body is not an EventNotificationAlert');
    return parseIsapiAlert(text);
  }
  return parseJsonAlert(text);
}

async function parseMultipart(kind: string, body: Uint8Array, contentType: string) {
  let form: FormData;
  try {
    form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch (err) {
    throw new BadRequest('bad_multipart', `malformed multipart/form-data: ${(err as Error).message}`);
  }
  let doc: string | undefined;
  let snapshot: Snapshot | undefined;
  for (const [name, value] of form.entries()) {
    if (typeof value === 'string') {
      if (doc === undefined && (kind === 'events' ? name === 'event' : isIsapiXml(value))) doc = value;
      continue;
    }
    if (value.type.startsWith('image/')) {
      if (!snapshot) snapshot = { bytes: new Uint8Array(await value.arrayBuffer()), contentType: value.type };
    } else if (doc === undefined) {
      const text = await value.text();
      if (kind === 'events' ? name === 'event' : isIsapiXml(text)) doc = text;
    }
  }
  if (doc === undefined) {
    throw new BadRequest(
      'bad_multipart',
      kind === 'isapi' ? 'no EventNotificationAlert part' : 'no `event` part',
    );
  }
  return { msg: parseDocument(kind, doc), snapshot };
}
