import { RulesError } from './errors.js';

/**
 * Surface water environmental quality class per GB 3838-2002 table 1 (basic items), for the
 * parameters the village probes measure. Limits in mg/L except pH (dimensionless).
 */
export type WaterParameter = 'pH' | 'DO' | 'CODMn' | 'COD' | 'BOD5' | 'NH3-N' | 'TP' | 'TN';
export const WATER_PARAMETERS: readonly WaterParameter[] = [
  'pH',
  'DO',
  'CODMn',
  'COD',
  'BOD5',
  'NH3-N',
  'TP',
  'TN',
];

/** 1..5 for classes I..V, 6 for worse than V (劣V). */
export type WaterClass = 1 | 2 | 3 | 4 | 5 | 6;
export const WATER_CLASS_NAMES: Record<WaterClass, string> = {
  1: 'I',
  2: 'II',
  3: 'III',
  4: 'IV',
  5: 'V',
  6: '劣V',
};

/**
 * The kind of water body, from the station's registry entry. Lakes and reservoirs share their TP
 * limits (GB 3838-2002 table 1, item 9 "湖、库") and are the only bodies TN applies to (item 10).
 */
export type WaterBody = 'river' | 'lake' | 'reservoir';
export const WATER_BODIES: readonly WaterBody[] = ['river', 'lake', 'reservoir'];

/**
 * How many items the 2011 evaluation method (环办〔2011〕22号《地表水环境质量评价办法（试行）》)
 * evaluates for the overall class: GB 3838-2002 table 1 less water temperature, TN and faecal
 * coliforms. A class from fewer is a partial evaluation and is labelled so.
 */
export const FULL_EVALUATION_ITEMS = 21;

/** Upper limits (≤) for classes I..V. */
const MAX_LIMITS: Record<Exclude<WaterParameter, 'pH' | 'DO' | 'TP'>, readonly number[]> = {
  CODMn: [2, 4, 6, 10, 15],
  COD: [15, 15, 20, 30, 40],
  BOD5: [3, 3, 4, 6, 10],
  'NH3-N': [0.15, 0.5, 1.0, 1.5, 2.0],
  TN: [0.2, 0.5, 1.0, 1.5, 2.0],
};
const TP_RIVER = [0.02, 0.1, 0.2, 0.3, 0.4] as const;
const TP_LAKE = [0.01, 0.025, 0.05, 0.1, 0.2] as const;
const TP_LIMITS: Record<WaterBody, readonly number[]> = {
  river: TP_RIVER,
  lake: TP_LAKE,
  reservoir: TP_LAKE,
};
/** Lower limits (≥) for classes I..V: more dissolved oxygen is better. Class I is "saturation 90% (or 7.5)". */
const DO_MIN: readonly number[] = [7.5, 6, 5, 3, 2];
/** pH 6–9 for every class. */
const PH_RANGE = { min: 6, max: 9 } as const;

export type WaterSample = Partial<Record<WaterParameter, number>>;

export interface ParameterClass {
  parameter: WaterParameter;
  value: number;
  class: WaterClass;
}

export interface WaterClassResult {
  body: WaterBody;
  /** Worst class over the evaluated parameters; null when none was given. */
  class: WaterClass | null;
  className: string | null;
  /** The parameter(s) whose class equals the overall class. */
  decidedBy: WaterParameter[];
  /** Every parameter that went into `class`, with its own class. */
  parameters: ParameterClass[];
  /**
   * TN of a lake or reservoir, classed on its own: the 2011 method reports it apart and leaves it
   * out of the overall class. null when not given or for a river.
   */
  tn: ParameterClass | null;
  /** Parameters given but not used for this water body (TN in a river). */
  notApplicable: WaterParameter[];
  /** Parameters whose value could not be classed (negative, not a number), with why. */
  rejected: { parameter: WaterParameter; value: unknown; reason: string }[];
  /** True unless every item of the full evaluation was given (a village probe never has them all). */
  partial: boolean;
  /** The class labelled with what it rests on, e.g. "V (TP; by pH, DO, NH3-N, TP; partial)". */
  label: string | null;
}

/** Class of one parameter value. A value equal to a class limit belongs to that class. */
export function parameterClass(
  parameter: WaterParameter,
  value: number,
  body: WaterBody = 'river',
): WaterClass {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RulesError('bad_value', parameter, 'must be a finite number', value);
  }
  if (parameter === 'pH') {
    if (value < 0 || value > 14)
      throw new RulesError('out_of_range', parameter, 'must be within 0..14', value);
    return value >= PH_RANGE.min && value <= PH_RANGE.max ? 1 : 6;
  }
  if (value < 0) throw new RulesError('out_of_range', parameter, 'must not be negative', value);
  if (parameter === 'DO') {
    for (let i = 0; i < DO_MIN.length; i++) if (value >= DO_MIN[i]) return (i + 1) as WaterClass;
    return 6;
  }
  const limits = parameter === 'TP' ? TP_LIMITS[body] : MAX_LIMITS[parameter];
  if (!limits)
    throw new RulesError('bad_value', 'parameter', 'is not a GB 3838-2002 basic item here', parameter);
  for (let i = 0; i < limits.length; i++) if (value <= limits[i]) return (i + 1) as WaterClass;
  return 6;
}

/**
 * Overall class: the worst parameter decides (GB 3838-2002 section 5, single-factor evaluation).
 * For a lake or reservoir TN is classed apart (`tn`) and does not count. Never throws on a value:
 * one that cannot be classed is listed in `rejected` and the others still decide.
 */
export function waterClass(sample: WaterSample, body: WaterBody = 'river'): WaterClassResult {
  if (!WATER_BODIES.includes(body))
    throw new RulesError('bad_value', 'body', 'must be river, lake or reservoir', body);
  const parameters: ParameterClass[] = [];
  const notApplicable: WaterParameter[] = [];
  const rejected: WaterClassResult['rejected'] = [];
  let tn: ParameterClass | null = null;
  for (const p of WATER_PARAMETERS) {
    const v = sample[p];
    if (v === undefined) continue;
    if (p === 'TN' && body === 'river') {
      notApplicable.push(p);
      continue;
    }
    let c: WaterClass;
    try {
      c = parameterClass(p, v, body);
    } catch (err) {
      rejected.push({ parameter: p, value: v, reason: err instanceof Error ? err.message : String(err) });
      continue;
    }
    if (p === 'TN') tn = { parameter: p, value: v, class: c };
    else parameters.push({ parameter: p, value: v, class: c });
  }
  const partial = parameters.length < FULL_EVALUATION_ITEMS;
  if (parameters.length === 0) {
    return {
      body,
      class: null,
      className: null,
      decidedBy: [],
      parameters,
      tn,
      notApplicable,
      rejected,
      partial,
      label: null,
    };
  }
  let worst: WaterClass = 1;
  for (const p of parameters) if (p.class > worst) worst = p.class;
  const decidedBy = parameters.filter((p) => p.class === worst).map((p) => p.parameter);
  const used = parameters.map((p) => p.parameter).join(', ');
  const label = `${WATER_CLASS_NAMES[worst]} (${decidedBy.join(', ')}; by ${used}${partial ? `; partial, ${parameters.length} of ${FULL_EVALUATION_ITEMS} items` : ''})`;
  return {
    body,
    class: worst,
    className: WATER_CLASS_NAMES[worst],
    decidedBy,
    parameters,
    tn,
    notApplicable,
    rejected,
    partial,
    label,
  };
}
