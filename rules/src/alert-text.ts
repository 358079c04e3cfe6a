/**
 * What an alert says, as structured fields, and its rendering in Chinese and English. Alerts and
 * incidents carry the fields (never a sentence with ids and raw milliseconds); the dashboards and
 * the notifications render them with the reader's language and with people's display names as
 * the reader's role may see them (masked for town and county officers). Ids never carry names.
 */
export type AlertKind =
  | 'fall'
  | 'sos'
  | 'heart_rate'
  | 'spo2'
  | 'no_movement'
  | 'no_movement_critical'
  | 'not_worn'
  | 'battery_low'
  | 'device_silent'
  | 'silent_alone'
  | 'edge_offline'
  | 'threshold'
  | 'device_event';

export interface AlertText {
  kind: AlertKind;
  /** Person id (p-0001), when about a person. */
  person?: string;
  device?: string;
  station?: string;
  metric?: string;
  value?: number;
  unit?: string;
  /** Averaging period of the value judged: 'instant', '1h', '8h', '24h'. */
  averaging?: string;
  /** The level crossed, with its direction; or the person's own range. */
  threshold?: number;
  direction?: 'above' | 'below';
  range?: [number, number];
  /** How long the condition has held (silence, no movement, not worn, a vital out of range), ms. */
  durationMs?: number;
  /** Device event type (intrusion, smoke, ...). */
  event?: string;
}

export type TextLang = 'zh' | 'en';

const METRIC_NAMES: Record<string, [string, string]> = {
  pm2_5: ['PM2.5', 'PM2.5'],
  pm25: ['PM2.5', 'PM2.5'],
  pm10: ['PM10', 'PM10'],
  o3: ['臭氧', 'ozone'],
  no2: ['二氧化氮', 'NO₂'],
  so2: ['二氧化硫', 'SO₂'],
  co: ['一氧化碳', 'CO'],
  temperature: ['温度', 'temperature'],
  humidity: ['湿度', 'humidity'],
  ph: ['pH', 'pH'],
  water_level: ['水位', 'water level'],
};

const EVENT_NAMES: Record<string, [string, string]> = {
  intrusion: ['入侵', 'intrusion'],
  smoke: ['烟雾', 'smoke'],
  fire: ['火情', 'fire'],
  offline: ['离线', 'offline'],
};

const AVERAGING: Record<string, [string, string]> = {
  instant: ['实时值', 'instantaneous'],
  '1h': ['1小时均值', '1-hour mean'],
  '8h': ['8小时均值', '8-hour mean'],
  '24h': ['24小时均值', '24-hour mean'],
};

/** "1小时5分钟" / "1 h 5 min"; under a minute, seconds. */
export function renderDuration(ms: number, lang: TextLang): string {
  if (ms < 60_000) {
    const sec = Math.max(0, Math.round(ms / 1000));
    return lang === 'zh' ? `${sec}秒` : `${sec} s`;
  }
  const total = Math.round(ms / 60_000);
  const h = Math.floor(total / 60);
  const m = total % 60;
  if (lang === 'zh') return h > 0 ? `${h}小时${m > 0 ? `${m}分钟` : ''}` : `${m}分钟`;
  return h > 0 ? `${h} h${m > 0 ? ` ${m} min` : ''}` : `${m} min`;
}

const pick = (names: Record<string, [string, string]>, key: string, lang: TextLang) =>
  names[key]?.[lang === 'zh' ? 0 : 1] ?? key;

/**
 * Renders the fields in one language. `nameOf` gives a person's display name as the reader may
 * see it (masked by the caller's role); without it the person's id is shown.
 */
export function renderAlertText(
  text: AlertText,
  lang: TextLang,
  nameOf: (personId: string) => string = (id) => id,
): string {
  const zh = lang === 'zh';
  const who = text.person ? nameOf(text.person) : (text.device ?? '');
  const dur = text.durationMs !== undefined ? renderDuration(text.durationMs, lang) : '';
  const unit = text.unit ? (zh ? text.unit : ` ${text.unit}`) : '';
  switch (text.kind) {
    case 'fall':
      return zh ? `${who} 跌倒` : `${who} fell`;
    case 'sos':
      return zh ? `${who} 按下紧急呼叫` : `SOS from ${who}`;
    case 'heart_rate': {
      const [lo, hi] = text.range ?? [0, 0];
      return zh
        ? `${who} 心率 ${text.value} 次/分，超出本人正常范围 ${lo}–${hi}${dur ? `，持续${dur}` : ''}`
        : `${who}: heart rate ${text.value} bpm, outside own range ${lo}–${hi}${dur ? ` for ${dur}` : ''}`;
    }
    case 'spo2':
      return zh
        ? `${who} 血氧 ${text.value}%，低于本人下限 ${text.threshold}%${dur ? `，持续${dur}` : ''}`
        : `${who}: SpO₂ ${text.value}%, below own minimum ${text.threshold}%${dur ? ` for ${dur}` : ''}`;
    case 'no_movement':
      return zh
        ? `${who} 清醒时段已${dur}未活动，请电话确认`
        : `${who}: no movement for ${dur} in waking hours; please call to check`;
    case 'no_movement_critical':
      return zh
        ? `${who} 清醒时段已${dur}未活动，请上门查看`
        : `${who}: no movement for ${dur} in waking hours; visit now`;
    case 'not_worn':
      return zh ? `${who} 未佩戴手环已${dur}` : `${who}: wristband not worn for ${dur}`;
    case 'battery_low':
      return zh ? `${who} 手环电量 ${text.value}%` : `${who}: wristband battery ${text.value}%`;
    case 'device_silent':
      return zh ? `${who} 的手环已${dur}无数据` : `${who}: wristband silent for ${dur}`;
    case 'silent_alone':
      return zh ? `独居老人 ${who} 的手环已${dur}无数据` : `${who} lives alone; wristband silent for ${dur}`;
    case 'edge_offline':
      return zh
        ? `站点 ${text.station} 的边缘网关 ${text.device} 离线`
        : `edge ${text.device} of station ${text.station} offline`;
    case 'threshold': {
      const metric = pick(METRIC_NAMES, text.metric ?? '', lang);
      const avg = pick(AVERAGING, text.averaging ?? 'instant', lang);
      const word = text.direction === 'below' ? (zh ? '低于' : 'below') : zh ? '超过' : 'above';
      return zh
        ? `${metric}（${avg}）${text.value}${unit}，${word}限值 ${text.threshold}${unit}`
        : `${metric} (${avg}) ${text.value}${unit}, ${word} the limit of ${text.threshold}${unit}`;
    }
    case 'device_event': {
      const ev = pick(EVENT_NAMES, text.event ?? '', lang);
      return zh ? `${text.device} 报告${ev}` : `${ev} reported by ${text.device}`;
    }
  }
}
