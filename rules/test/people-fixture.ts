import type { Person } from '../src/index.js';

/** Three people: two in village v1, one in v2; awake 07:00–21:00 China time. */
export function person(id: string, village: string, device: string, extra: Partial<Person> = {}): Person {
  return {
    id,
    village,
    device,
    livesAlone: true,
    heartRate: { min: 50, max: 110 },
    spo2: { min: 92 },
    waking: { from: '07:00', to: '21:00' },
    ...extra,
  };
}

export const PEOPLE: Person[] = [
  person('p1', 'v1', 'wb1'),
  person('p2', 'v1', 'wb2'),
  person('p3', 'v2', 'wb3'),
];
