function decodeUplink(input) {
  const b = input.bytes;
  if (b[0] === 0xff) for (;;) {}
  if (b[0] === 0xfe) {
    const hoard = [];
    for (;;) hoard.push({ n: hoard.length, more: [hoard.length] });
  }
  if (b[0] === 0xfc) {
    const buffers = [];
    for (;;) buffers.push(new ArrayBuffer(512 * 1024));
  }
  if (b[0] === 0xfd) throw new TypeError('vendor bug');
  return { data: { level: b[0] } };
}
