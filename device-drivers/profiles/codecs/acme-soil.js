// ACME SM-1 soil probe, uplinks on fPort 2, 6 bytes, big-endian:
//   0-1 moisture, 0.1 %   2-3 soil temperature, 0.1 °C (signed)   4 battery %   5 flags (bit 0: dry)
// Downlink on fPort 3: 01 MM MM sets the report interval to MMMM minutes.
function decodeUplink(input) {
  if (input.fPort !== 2) return { errors: ['acme-soil: no uplink on fPort ' + input.fPort] };
  const b = input.bytes;
  if (b.length !== 6) return { errors: ['acme-soil: ' + b.length + ' bytes, 6 expected'] };
  let t = (b[2] << 8) | b[3];
  if (t & 0x8000) t -= 0x10000;
  const warnings = [];
  if (b[4] < 10) warnings.push('acme-soil: battery ' + b[4] + ' %');
  return {
    data: {
      moisture: ((b[0] << 8) | b[1]) / 10,
      soil_temperature: t / 10,
      battery: b[4],
      dry: (b[5] & 1) === 1,
    },
    warnings: warnings,
  };
}

function encodeDownlink(input) {
  const params = input.data.params || {};
  if (input.data.action !== 'set_interval')
    return { errors: ['acme-soil: no action ' + JSON.stringify(input.data.action)] };
  const m = params.minutes;
  if (typeof m !== 'number' || m % 1 !== 0 || m < 1 || m > 1440)
    return { errors: ['acme-soil: minutes must be an integer 1..1440'] };
  return { bytes: [0x01, m >> 8, m & 0xff], fPort: 3 };
}
