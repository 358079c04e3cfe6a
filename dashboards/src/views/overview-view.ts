import type { AppData } from '../app-data.js';
import { el } from '../dom-element.js';
import { currentLang, t } from '../i18n.js';
import { type StationCardModel, changedParts, stationCardModel } from '../station-card-model.js';

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

/** The model each card on screen was drawn from, so a live reading redraws only what changed. */
const drawn = new WeakMap<HTMLElement, StationCardModel>();

const aqiPart = (m: StationCardModel) => {
  const a = m.aqi;
  if (!a) return el('div', { class: 'aqi aqi-none' }, `${t('aqi')} —`);
  return el(
    'div',
    {
      class: `aqi aqi-${a.level}${a.stale ? ' aqi-stale' : ''}`,
      style: `background:${a.color}`,
      title: `${t('aqiNote')} ${new Date(a.asOf).toLocaleString()}`,
      'data-aqi': a.aqi,
      'data-stale': String(a.stale),
    },
    el('span', { class: 'aqi-value' }, a.aqi),
    el('span', {}, currentLang() === 'zh' ? a.nameZh : a.nameEn),
  );
};

const waterPart = (m: StationCardModel) =>
  m.water
    ? el(
        'div',
        { class: 'water', 'data-water-class': m.water.class, title: m.water.label },
        `${t('waterClass')}: ${m.water.className}`,
      )
    : null;

const valuesPart = (m: StationCardModel) =>
  el(
    'dl',
    { class: 'values' },
    ...m.values.flatMap((v) => [
      el('dt', {}, m.manyDevices ? `${v.device} ${v.metric}` : v.metric),
      el('dd', { 'data-device': v.device, 'data-metric': v.metric }, v.text),
    ]),
  );

const devicesPart = (m: StationCardModel) =>
  el(
    'div',
    { class: m.offline ? 'devices bad' : 'devices' },
    `${t('devices')} ${m.devices}`,
    m.offline ? ` · ${t('offline')} ${m.offline}` : '',
  );

export function stationCard(data: AppData, station: string, now = Date.now()): HTMLElement {
  const m = stationCardModel(data, station, now);
  const card = el(
    'a',
    { class: 'card', href: `#/station/${encodeURIComponent(station)}`, 'data-station': station },
    el('div', { class: 'card-head' }, el('strong', {}, m.name)),
    aqiPart(m),
    waterPart(m),
    valuesPart(m),
    devicesPart(m),
  );
  drawn.set(card, m);
  return card;
}

/**
 * Brings a card on screen up to date after a live reading, touching only the parts that changed
 * (usually one value's text): the card, its link and everything else stay the same nodes.
 */
export function patchStationCard(card: HTMLElement, data: AppData, now = Date.now()): void {
  const station = card.dataset.station!;
  const before = drawn.get(card);
  if (!before) {
    card.replaceWith(stationCard(data, station, now));
    return;
  }
  const after = stationCardModel(data, station, now);
  for (const part of changedParts(before, after)) {
    if (part === 'name') card.querySelector('.card-head strong')!.textContent = after.name;
    else if (part === 'aqi') card.querySelector(':scope > .aqi')!.replaceWith(aqiPart(after));
    else if (part === 'water') {
      card.querySelector(':scope > .water')?.remove();
      const water = waterPart(after);
      if (water) card.querySelector(':scope > .aqi')!.after(water);
    } else if (part === 'valueList') card.querySelector(':scope > .values')!.replaceWith(valuesPart(after));
    else if (part === 'devices') card.querySelector(':scope > .devices')!.replaceWith(devicesPart(after));
    else {
      const v = after.values.find((x) => `value:${x.device}|${x.metric}` === part)!;
      const dd = card.querySelector(
        `.values [data-device="${CSS.escape(v.device)}"][data-metric="${CSS.escape(v.metric)}"]`,
      );
      if (dd) dd.textContent = v.text;
    }
  }
  drawn.set(card, after);
}
