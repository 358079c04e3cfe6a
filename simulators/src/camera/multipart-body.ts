import { randomBytes } from 'node:crypto';

/**
 * A multipart/form-data body built to bytes (RFC 7578), so it can be signed (HMAC) and resent
 * identically (digest retries), which a streamed FormData cannot promise.
 */
export interface Part {
  name: string;
  contentType: string;
  filename?: string;
  data: Uint8Array | string;
}

export function multipartBody(parts: Part[]): { body: Buffer; contentType: string } {
  const boundary = `----village${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}`;
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: ${disposition}\r\nContent-Type: ${p.contentType}\r\n\r\n`,
      ),
    );
    chunks.push(typeof p.data === 'string' ? Buffer.from(p.data) : Buffer.from(p.data));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
