/** AQI categories of HJ 633-2012 table 2, with the colours (RGB) it prescribes. */
export interface AqiLevel {
  level: 1 | 2 | 3 | 4 | 5 | 6;
  /** Inclusive AQI range. The last level is open-ended. */
  min: number;
  max: number;
  nameZh: string;
  nameEn: string;
  colorZh: string;
  color: string;
}

export const AQI_LEVELS: readonly AqiLevel[] = [
  { level: 1, min: 0, max: 50, nameZh: '优', nameEn: 'Excellent', colorZh: '绿色', color: '#00E400' },
  { level: 2, min: 51, max: 100, nameZh: '良', nameEn: 'Good', colorZh: '黄色', color: '#FFFF00' },
  {
    level: 3,
    min: 101,
    max: 150,
    nameZh: '轻度污染',
    nameEn: 'Lightly Polluted',
    colorZh: '橙色',
    color: '#FF7E00',
  },
  {
    level: 4,
    min: 151,
    max: 200,
    nameZh: '中度污染',
    nameEn: 'Moderately Polluted',
    colorZh: '红色',
    color: '#FF0000',
  },
  {
    level: 5,
    min: 201,
    max: 300,
    nameZh: '重度污染',
    nameEn: 'Heavily Polluted',
    colorZh: '紫色',
    color: '#99004C',
  },
  {
    level: 6,
    min: 301,
    max: Number.POSITIVE_INFINITY,
    nameZh: '严重污染',
    nameEn: 'Severely Polluted',
    colorZh: '褐红色',
    color: '#7E0023',
  },
];

/** The category of an (integer) AQI. */
export function aqiLevel(aqi: number): AqiLevel {
  for (const l of AQI_LEVELS) if (aqi <= l.max) return l;
  return AQI_LEVELS[AQI_LEVELS.length - 1];
}
