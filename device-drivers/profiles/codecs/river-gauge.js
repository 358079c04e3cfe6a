// River gauge payload (NB-IoT, the envelope's `p`), 4 bytes:
//   0-1 level above the gauge's zero, cm (unsigned, big-endian)   2 battery %   3 flags (bit 0: flood)
// Commands: `set_threshold` { cm } → 01 HH LL (the level at which the gauge raises its flood flag).
function decodeUplink(input) {
  const b = input.bytes;
  if (b.length !== 4) return { errors: ['river-gauge: ' + b.length + ' bytes, 4 expected'] };
  if (b[2] > 100) return { errors: ['river-gauge: battery ' + b[2] + ' % is out of range'] };
  return {
    data: { level_cm: (b[0] << 8) | b[1], battery: b[2], flood: (b[3] & 1) === 1 },
  };
}

function encodeDownlink(input) {
  if (input.data.action !== 'set_threshold')
    return { errors: ['river-gauge: no action ' + JSON.stringify(input.data.action)] };
  const cm = input.data.params?.cm;
  if (typeof cm !== 'number' || cm % 1 !== 0 || cm < 1 || cm > 65535)
    return { errors: ['river-gauge: cm must be an integer 1..65535'] };
  return { bytes: [0x01, cm >> 8, cm & 0xff] };
}
