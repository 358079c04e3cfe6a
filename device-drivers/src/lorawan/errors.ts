/**
 * Why a LoRaWAN input was refused. Each code is also the `ctx.countError` reason, so the
 * /metrics label and the log line name the same thing.
 */
export type LorawanErrorCode =
  | 'udp_malformed'
  | 'udp_unknown_version'
  | 'udp_unknown_type'
  | 'gateway_unknown'
  | 'gateway_source_refused'
  | 'push_data_bad_json'
  | 'rxpk_invalid'
  | 'rxpk_crc_bad'
  | 'phy_malformed'
  | 'mtype_unexpected'
  | 'devaddr_unknown'
  | 'mic_invalid'
  | 'fcnt_replay'
  | 'codec_error'
  | 'join_unknown_device'
  | 'join_mic_invalid'
  | 'join_devnonce_reused'
  | 'downlink_no_gateway'
  | 'downlink_too_late'
  | 'tx_ack_error'
  | 'dedup_overflow'
  | 'bad_command'
  | 'mac_malformed'
  | 'mac_link_adr_rejected'
  | 'downlink_not_acked';

export class LorawanError extends Error {
  override readonly name = 'LorawanError';
  constructor(
    readonly code: LorawanErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}
