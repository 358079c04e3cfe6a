import { stationAqi, stationWaterClass } from '../air-water-index.js';
import { type AppData, deviceOffline, formatValue, latestOfStation } from '../app-data.js';
import { el } from '../dom-element.js';
import { currentLang, t } from '../i18n.js';

/** Metrics shown on a station card, when the station has them. */
const CARD_METRICS = ['pm2_5', 'pm25', 'pm10', 'temperature', 'humidity', 'ph', 'dissolved_oxygen'];

/** Stations grouped by town and village, each with AQI colour and level, water class and device health. */
export function renderOverview(root: HTMLElement, data: AppData): void {
  const towns = new Map<
    string,
    { name: string; villages: Map<string, { name: string; stations: string[] }> }
  >();
  for (const p of data.places) {
    const town = towns.get(p.town) ?? { name: p.townName, villages: new Map() };
    towns.set(p.town, town);
    const village = town.villages.get(p.village) ?? { name: p.villageName, stations: [] };
    town.villages.set(p.village, village);
    village.stations.push(p.station);
  }
  const sections = [...towns.values()].map((town) =>
    el(
      'section',
      { class: 'town' },
      el('h2', {}, `${town.name}`),
      ...[...town.villages.entries()].map(([villageId, village]) =>
        el(
          'div',
          { class: 'village', 'data-village': villageId },
          el('h3', {}, village.name),
          el('div', { class: 'cards' }, ...village.stations.map((s) => stationCard(data, s))),
        ),
      ),
    ),
  );
  root.replaceChildren(...(sections.length ? sections : [el('p', { class: 'empty' }, t('noData'))]));
  document.body.dataset.rendered = 'overview';
  performance.mark('overview-rendered');
}

export function stationCard(data: AppData, station: string): HTMLElement {
  const place = data.places.find((p) => p.station === station)!;
  const latest = latestOfStation(data, station);
  const aqi = stationAqi(latest);
  const water = stationWaterClass(latest, place.waterBody);
  const devices = data.devices.filter((d) => d.station === station);
  const offline = devices.filter((d) => deviceOffline(data, d)).length;
  const level = aqi?.level;
  const shown = CARD_METRICS.flatMap((m) => latest.filter((l) => l.metric === m && l.device));
  return el(
    'a',
    { class: 'card', href: `#/station/${encodeURIComponent(station)}`, 'data-station': station },
    el('div', { class: 'card-head' }, el('strong', {}, place.stationName)),
    aqi?.aqi != null && level
      ? el(
          'div',
          {
            class: `aqi aqi-${level.level}${aqi.stale ? ' aqi-stale' : ''}`,
            style: `background:${level.color}`,
            title: `${t('aqiNote')} ${new Date(aqi.asOf).toLocaleString()}`,
            'data-aqi': aqi.aqi,
            'data-stale': String(aqi.stale),
          },
          el('span', { class: 'aqi-value' }, aqi.aqi),
          el('span', {}, currentLang() === 'zh' ? level.nameZh : level.nameEn),
        )
      : el('div', { class: 'aqi aqi-none' }, `${t('aqi')} —`),
    water
      ? el(
          'div',
          { class: 'water', 'data-water-class': water.class!, title: water.label ?? '' },
          `${t('waterClass')}: ${water.className}`,
        )
      : null,
    el(
      'dl',
      { class: 'values' },
      ...shown
        .slice(0, 4)
        .flatMap((l) => [
          el('dt', {}, devices.length > 1 ? `${l.device} ${l.metric}` : l.metric),
          el('dd', { 'data-device': l.device, 'data-metric': l.metric }, formatValue(l)),
        ]),
    ),
    el(
      'div',
      { class: offline ? 'devices bad' : 'devices' },
      `${t('devices')} ${devices.length}`,
      offline ? ` · ${t('offline')} ${offline}` : '',
    ),
  );
}
