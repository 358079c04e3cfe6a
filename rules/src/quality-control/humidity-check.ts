import type { QcReason } from './data-flag.js';

/**
 * Optical (laser-scattering) PM sensors count water droplets as particles: above about 90–95 %RH
 * their PM readings run high. Stations with such a sensor set the limit in their profile.
 */
export function checkHumidity(humidity: number, maxHumidity: number): QcReason | null {
  if (humidity <= maxHumidity) return null;
  return {
    code: 'high_humidity',
    detail: `humidity ${humidity} %RH is above ${maxHumidity} %RH for an optical sensor`,
  };
}
