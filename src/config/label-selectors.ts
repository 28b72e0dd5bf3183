/**
 * metav1.LabelSelector, validated as the API server validates it: label
 * keys and values in matchLabels, and matchExpressions whose operator
 * decides whether values are required (In, NotIn) or forbidden (Exists,
 * DoesNotExist).
 */
import type { LabelSelectorSpec, SelectorOperator, SelectorRequirement } from '../spec/network-policy.js';
import type { Cursor } from './documents.js';
import type { Reader } from './fields.js';
import { checkLabels, labelKeyProblem, labelValueProblem } from './names.js';

const OPERATORS: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

function readRequirement(c: Cursor, where: string, r: Reader): SelectorRequirement | undefined {
  if (!r.map(c, where)) {
    if (!c.exists) r.add('bad-value', c.ref, `${where} entries must be mappings such as {key: app, operator: In, values: [web]}`);
    return undefined;
  }
  r.strict(c, ['key', 'operator', 'values'], where);
  r.required(c.get('key'), `${where}.key`);
  r.required(c.get('operator'), `${where}.operator`, `: one of ${OPERATORS.join(', ')}`);
  const key = r.string(c.get('key'), `${where}.key`);
  const keyProblem = key === undefined ? undefined : labelKeyProblem(key, where);
  if (keyProblem) r.add('bad-value', c.get('key').ref, keyProblem);
  const operator = r.oneOf(c.get('operator'), `${where}.operator`, OPERATORS);
  const valuesC = c.get('values');
  const values = r.list(valuesC, `${where}.values`).map((v) => {
    if (typeof v.value !== 'string') {
      r.add('bad-value', v.ref, `${where}.values: each value must be a string; quote it: '${String(v.value)}'`);
      return undefined;
    }
    const problem = labelValueProblem(key ?? 'key', v.value, where);
    if (problem) r.add('bad-value', v.ref, problem);
    return v.value;
  });
  if (operator === 'In' || operator === 'NotIn') {
    if (values.length === 0 && !(valuesC.exists && !valuesC.isSeq)) {
      r.add('missing-field', valuesC.exists ? valuesC.ref : c.ref, `${where}: operator ${operator} needs at least one value in values`);
    }
  } else if (operator !== undefined && values.length > 0) {
    r.add('bad-value', valuesC.ref, `${where}: operator ${operator} takes no values; remove values`);
  }
  if (key === undefined || keyProblem || operator === undefined || values.some((v) => v === undefined)) return undefined;
  return { key, operator, values: values as string[] };
}

/** A selector; absent or `{}` both select everything, which callers tell apart with `c.exists` when it matters. */
export function readLabelSelector(c: Cursor, where: string, r: Reader): LabelSelectorSpec | undefined {
  if (!c.exists) return { matchLabels: {}, matchExpressions: [] };
  if (!r.map(c, where)) return undefined;
  r.strict(c, ['matchLabels', 'matchExpressions'], where);
  const before = r.problems.length;
  const matchLabels = r.stringMap(c.get('matchLabels'), `${where}.matchLabels`) ?? {};
  checkLabels(matchLabels, c.get('matchLabels'), `${where}.matchLabels`, r);
  const matchExpressions = r.list(c.get('matchExpressions'), `${where}.matchExpressions`).map((e) => readRequirement(e, `${where}.matchExpressions[]`, r));
  if (r.problems.length > before) return undefined;
  return { matchLabels, matchExpressions: matchExpressions as SelectorRequirement[] };
}
