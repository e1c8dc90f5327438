#!/usr/bin/env node
// Offline checks of the Grafana dashboards in dashboards/*.json, used by the scripts beside it.
//
//   node dashcheck.mjs lint FILE...                        structure, units, descriptions, layout
//   node dashcheck.mjs exprs [--set var=value]... FILE...  every PromQL expression, variables
//                                                          substituted, as JSON lines
//   node dashcheck.mjs names --exposition F --rules R.json FILE...
//                                                          metric and label names used by the
//                                                          dashboards and the rules against what
//                                                          a real exporter served (F, /metrics)
//   node dashcheck.mjs typescript FILE...                  a .ts module typing every dashboard
//                                                          with @grafana/schema (for tsc --strict)
//
// PromQL is parsed with @prometheus-io/lezer-promql (the grammar of the Prometheus UI); the
// scripts also parse every expression with promtool, which is the authority.
import { readFileSync } from 'node:fs';
import { parser } from '@prometheus-io/lezer-promql';

const args = process.argv.slice(2);
const cmd = args.shift();

function fail(msg) {
  console.error(msg);
  process.exit(2);
}

function load(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    fail(`${file}: not valid JSON: ${e.message}`);
  }
}

// Every non-row panel, rows' collapsed children included.
function panelsOf(dash) {
  const out = [];
  for (const p of dash.panels ?? []) {
    if (p.type === 'row') {
      for (const c of p.panels ?? []) out.push(c);
    } else {
      out.push(p);
    }
  }
  return out;
}

// label_values(selector, label) / query_result(expr) / metrics(regex) / label_names(): the PromQL
// inside a Prometheus variable query.
function variableExpr(v) {
  const q = typeof v.query === 'string' ? v.query : v.query?.query ?? '';
  let m = /^\s*label_values\(\s*(.*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/s.exec(q);
  if (m) return { expr: m[1], label: m[2], raw: q };
  m = /^\s*query_result\(\s*(.*)\s*\)\s*$/s.exec(q);
  if (m) return { expr: m[1], raw: q };
  return { expr: null, raw: q };
}

function expressions(dash, file) {
  const out = [];
  for (const p of panelsOf(dash)) {
    for (const t of p.targets ?? []) {
      out.push({ file, kind: 'panel', panel: p.title, ref: t.refId, expr: t.expr ?? '', legend: t.legendFormat ?? '', unit: p.fieldConfig?.defaults?.unit });
    }
  }
  for (const v of dash.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const { expr, raw, label } = variableExpr(v);
    out.push({ file, kind: 'variable', panel: `$${v.name}`, ref: v.name, expr: expr ?? raw, label, unsupported: expr === null });
  }
  return out;
}

function substitute(expr, values) {
  let s = expr;
  for (const [k, v] of Object.entries(values)) {
    s = s.split('${' + k + '}').join(v).split('$' + k).join(v);
  }
  return s;
}

const DEFAULT_VALUES = {
  __rate_interval: '1m',
  __interval: '1m',
  __range: '1h',
  job: 'pgconn',
  target: '.+',
  pool: '.+',
  pgbouncer: '.+',
};

// Walks a PromQL expression: metric names of vector selectors, label names in matchers, in
// by/without/on/ignoring clauses, and syntax errors.
function analyse(expr) {
  const tree = parser.parse(expr);
  const selectors = [];
  const grouping = [];
  const errors = [];
  const text = (n) => expr.slice(n.from, n.to);
  // Every LabelName below a node (matchers of one selector).
  const labelNamesBelow = (node) => {
    const out = [];
    const c = node.cursor();
    const stop = node.to;
    if (!c.firstChild()) return out;
    do {
      if (c.from >= stop) break;
      if (c.type.name === 'LabelName') out.push(expr.slice(c.from, c.to));
    } while (c.next() && c.from < stop);
    return out;
  };
  tree.iterate({
    enter(n) {
      if (n.type.isError) errors.push(n.from);
      if (n.type.name === 'VectorSelector') {
        const id = n.node.getChild('Identifier');
        const sel = { metric: id ? text(id) : null, labels: [], text: text(n) };
        for (const name of labelNamesBelow(n.node)) {
          if (name !== '__name__') sel.labels.push(name);
        }
        selectors.push(sel);
      }
      if (n.type.name === 'GroupingLabels') {
        for (const l of n.node.getChildren('LabelName')) grouping.push(text(l));
      }
    },
  });
  return { selectors, grouping, errors };
}

function parseArgs(list) {
  const opts = { set: {}, files: [] };
  while (list.length) {
    const a = list.shift();
    if (a === '--set') {
      const kv = list.shift() ?? fail('--set needs var=value');
      const i = kv.indexOf('=');
      opts.set[kv.slice(0, i)] = kv.slice(i + 1);
    } else if (a.startsWith('--')) {
      opts[a.slice(2)] = list.shift();
    } else {
      opts.files.push(a);
    }
  }
  return opts;
}

// ---------------------------------------------------------------------------------------------
function lint(files) {
  const problems = [];
  const uids = new Map();
  for (const file of files) {
    const d = load(file);
    const say = (msg) => problems.push(`${file}: ${msg}`);
    if (typeof d.uid !== 'string' || !/^[a-zA-Z0-9_-]{8,40}$/.test(d.uid)) say(`uid must be a fixed string of 8-40 characters, got ${JSON.stringify(d.uid)}`);
    if (uids.has(d.uid)) say(`uid ${d.uid} also used by ${uids.get(d.uid)}`);
    uids.set(d.uid, file);
    if (d.id !== null) say(`"id" must be null (provisioning assigns it), got ${JSON.stringify(d.id)}`);
    if (!(Number.isInteger(d.schemaVersion) && d.schemaVersion >= 36 && d.schemaVersion <= 39)) say(`schemaVersion must be 36-39, got ${d.schemaVersion}`);
    if (!d.title) say('no title');
    if (d.__inputs) say('__inputs makes provisioning fail: use the datasource template variable instead');
    if (JSON.stringify(d).includes('DS_PROMETHEUS')) say('${DS_PROMETHEUS} only works in the UI import flow: use ${datasource}');
    const vars = d.templating?.list ?? [];
    const byName = Object.fromEntries(vars.map((v) => [v.name, v]));
    const ds = byName.datasource;
    if (!ds || ds.type !== 'datasource' || ds.query !== 'prometheus') say('needs a template variable "datasource" of type datasource with query "prometheus"');
    const needed = ['job', 'target', ...(file.includes('pools') ? ['pool'] : [])];
    for (const name of needed) {
      const v = byName[name];
      if (!v) { say(`needs a template variable "${name}"`); continue; }
      const q = typeof v.query === 'string' ? v.query : v.query?.query;
      if (v.type !== 'query' || !/^label_values\(/.test(q ?? '')) say(`variable ${name} must be a label_values() query`);
      if (v.datasource?.uid !== '${datasource}') say(`variable ${name} must use the \${datasource} variable`);
    }
    for (const v of vars) {
      if (v.current && Object.keys(v.current).length && v.current.value !== undefined && typeof v.current.value === 'string' && v.current.value !== '$__all' && v.type !== 'datasource') {
        say(`variable ${v.name} stores a current value ${JSON.stringify(v.current.value)} from someone's Grafana: clear it`);
      }
    }
    const ids = new Set();
    const cells = [];
    for (const p of d.panels ?? []) {
      const kids = p.type === 'row' ? [p, ...(p.panels ?? [])] : [p];
      for (const q of kids) {
        const where = `panel ${q.id} "${q.title}"`;
        if (!Number.isInteger(q.id)) say(`${where}: id must be an integer`);
        if (ids.has(q.id)) say(`${where}: duplicate panel id`);
        ids.add(q.id);
        const g = q.gridPos;
        if (!g || g.x < 0 || g.y < 0 || g.w < 1 || g.h < 1 || g.x + g.w > 24) say(`${where}: gridPos out of the 24-column grid`);
        else if (q.type !== 'row' || !q.collapsed) {
          for (const c of cells) {
            if (g.x < c.x + c.w && c.x < g.x + g.w && g.y < c.y + c.h && c.y < g.y + g.h) say(`${where}: overlaps panel ${c.id}`);
          }
          cells.push({ ...g, id: q.id });
        }
        if (q.type === 'row') continue;
        if (!q.title) say(`${where}: no title`);
        if (!q.description || q.description.length < 80) say(`${where}: needs a description that says what to do when it is red`);
        const unit = q.fieldConfig?.defaults?.unit;
        if (!unit) say(`${where}: no unit (fieldConfig.defaults.unit)`);
        if (q.datasource?.uid !== '${datasource}' || q.datasource?.type !== 'prometheus') say(`${where}: datasource must be {type: prometheus, uid: \${datasource}}`);
        if (!q.targets?.length) say(`${where}: no queries`);
        const refs = new Set();
        for (const t of q.targets ?? []) {
          if (refs.has(t.refId)) say(`${where}: duplicate refId ${t.refId}`);
          refs.add(t.refId);
          if (t.datasource && t.datasource.uid !== '${datasource}') say(`${where} ${t.refId}: query datasource must be \${datasource}`);
          if (!t.expr) { say(`${where} ${t.refId}: empty expr`); continue; }
          if (!/\$job\b|\$\{job\}/.test(t.expr)) say(`${where} ${t.refId}: expression ignores the $job variable`);
          if (/target=/.test(t.expr) && !/target=~"\$target"/.test(t.expr)) say(`${where} ${t.refId}: use target=~"$target"`);
          // Units follow what the expression returns.
          const names = analyse(substitute(t.expr, DEFAULT_VALUES)).selectors.map((s) => s.metric).filter(Boolean);
          const outer = names[0] ?? '';
          if (/ratio(:|$)|:effective$/.test(outer) && !/^predict_linear/.test(t.expr) && unit !== 'percentunit') say(`${where} ${t.refId}: ${outer} is a ratio: unit must be percentunit, got ${unit}`);
          if (/(_seconds|:age_seconds|_seconds:.*)$/.test(outer) && !/timestamp/.test(outer) && unit !== 's') say(`${where} ${t.refId}: ${outer} is in seconds: unit must be s, got ${unit}`);
          if (!t.legendFormat) say(`${where} ${t.refId}: no legendFormat`);
        }
      }
    }
  }
  for (const p of problems) console.error(p);
  console.log(`lint: ${files.length} dashboards, ${problems.length} problems`);
  process.exit(problems.length ? 1 : 0);
}

// ---------------------------------------------------------------------------------------------
function exprs(opts) {
  const values = { ...DEFAULT_VALUES, ...opts.set };
  let bad = 0;
  for (const file of opts.files) {
    for (const e of expressions(load(file), file)) {
      if (e.unsupported) {
        console.error(`${file}: variable ${e.panel}: unsupported query ${JSON.stringify(e.expr)}`);
        bad++;
        continue;
      }
      const expr = substitute(e.expr, values);
      const left = /\$[a-zA-Z_{]/.exec(expr);
      if (left) {
        console.error(`${file}: ${e.panel} ${e.ref}: unsubstituted variable in ${expr}`);
        bad++;
      }
      console.log(JSON.stringify({ ...e, expr }));
    }
  }
  process.exit(bad ? 1 : 0);
}

// ---------------------------------------------------------------------------------------------
// Metric name -> set of label names, from a text exposition.
function served(text) {
  const map = new Map();
  const typed = new Map();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(/\s+/);
      typed.set(name, type);
      continue;
    }
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s/.exec(line);
    if (!m) continue;
    const labels = map.get(m[1]) ?? new Set();
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)) labels.add(l[1]);
    map.set(m[1], labels);
  }
  return { map, typed };
}

function names(opts) {
  if (!opts.exposition) fail('names: --exposition FILE needed');
  const { map: servedMap } = served(readFileSync(opts.exposition, 'utf8'));
  const rules = opts.rules ? JSON.parse(readFileSync(opts.rules, 'utf8')) : [];
  // Recorded series: name -> labels they keep (job, instance and whatever the expr keeps; we
  // accept any label that one of the inputs has).
  const recorded = new Map();
  const ruleExprs = [];
  for (const file of rules) {
    for (const g of file.groups ?? []) {
      for (const r of g.rules ?? []) {
        ruleExprs.push({ file: file.file, kind: r.record ? 'record' : 'alert', panel: r.record ?? r.alert, ref: g.name, expr: r.expr, record: r.record });
      }
    }
  }
  // Prometheus adds these to every scraped series.
  const scrapeLabels = ['job', 'instance'];
  const labelsOfMetric = (name) => {
    if (servedMap.has(name)) {
      const l = new Set([...servedMap.get(name), ...scrapeLabels]);
      return l;
    }
    return null;
  };
  // Labels of a recorded series: those of its inputs (null = unknown, an input is missing; the
  // missing input is reported on the rule itself).
  for (const r of ruleExprs) {
    if (!r.record) continue;
    const a = analyse(r.expr);
    let l = new Set(scrapeLabels);
    for (const s of a.selectors) {
      const m = labelsOfMetric(s.metric) ?? recorded.get(s.metric);
      if (!m) { l = null; break; }
      for (const x of m) l.add(x);
    }
    recorded.set(r.record, l);
  }
  const values = { ...DEFAULT_VALUES, ...opts.set };
  const items = [...ruleExprs];
  for (const file of opts.files) items.push(...expressions(load(file), file).filter((e) => !e.unsupported).map((e) => ({ ...e, expr: substitute(e.expr, values) })));
  const missing = new Map();
  const problems = [];
  let used = 0;
  for (const it of items) {
    const a = analyse(it.expr);
    const where = `${it.file}: ${it.kind} ${JSON.stringify(it.panel)}${it.ref && it.kind === 'panel' ? ' ' + it.ref : ''}`;
    if (a.errors.length) problems.push(`${where}: PromQL syntax error at ${a.errors[0]} in ${it.expr}`);
    const known = new Set(['__name__']);
    let unknownLabels = false;
    for (const s of a.selectors) {
      if (!s.metric) { problems.push(`${where}: selector without a metric name: ${s.text}`); continue; }
      used++;
      if (recorded.has(s.metric) && recorded.get(s.metric) === null) { unknownLabels = true; continue; }
      const l = labelsOfMetric(s.metric) ?? recorded.get(s.metric);
      if (!l) {
        if (!missing.has(s.metric)) missing.set(s.metric, []);
        missing.get(s.metric).push(where);
        continue;
      }
      for (const x of l) known.add(x);
      for (const x of s.labels) {
        if (!l.has(x)) problems.push(`${where}: ${s.metric} has no label "${x}" (it has: ${[...l].sort().join(', ')})`);
      }
    }
    if (!unknownLabels && a.selectors.every((s) => labelsOfMetric(s.metric) || recorded.get(s.metric))) {
      for (const x of a.grouping) {
        if (!known.has(x)) problems.push(`${where}: grouping label "${x}" is on none of the metrics in ${it.expr}`);
      }
      for (const m of (it.legend ?? '').matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g)) {
        const inBy = a.grouping.length === 0 || a.grouping.includes(m[1]) || !/\b(sum|max|min|avg|count)\b/.test(it.expr);
        if (!known.has(m[1]) || !inBy) problems.push(`${where}: legend uses {{${m[1]}}}, which the query result does not have`);
      }
      if (it.label && !known.has(it.label)) problems.push(`${where}: label_values over "${it.label}", which ${it.expr} does not have`);
    }
  }
  for (const [metric, wheres] of missing) {
    problems.push(`metric ${metric} is not served by the exporter (nor recorded by a rule); used by:\n    ${wheres.join('\n    ')}`);
  }
  for (const p of problems) console.error(p);
  console.log(`names: ${items.length} expressions, ${used} selectors, ${servedMap.size} metrics served, ${recorded.size} recorded, ${missing.size} missing metric names, ${problems.length} problems`);
  process.exit(problems.length ? 1 : 0);
}

// ---------------------------------------------------------------------------------------------
// TypeScript source: the whole dashboard against @grafana/schema's Dashboard type, and each
// panel against the options/fieldConfig types of its panel plugin (string enums accepted as
// their literal values, as they appear in JSON).
const PANEL_TYPES = {
  timeseries: 'TimeSeriesPanelCfg',
  stat: 'StatPanelCfg',
  bargauge: 'BarGaugePanelCfg',
  'state-timeline': 'StateTimelinePanelCfg',
  table: 'TablePanelCfg',
  heatmap: 'HeatmapPanelCfg',
  gauge: 'GaugePanelCfg',
  text: 'TextPanelCfg',
};
const DIRS = {
  TimeSeriesPanelCfg: 'timeseries', StatPanelCfg: 'stat', BarGaugePanelCfg: 'bargauge',
  StateTimelinePanelCfg: 'statetimeline', TablePanelCfg: 'table', HeatmapPanelCfg: 'heatmap',
  GaugePanelCfg: 'gauge', TextPanelCfg: 'text',
};
function typescript(files) {
  const lines = [];
  lines.push(`import type { Dashboard, Panel, DataSourceRef, FieldConfigSource, FieldConfig } from '@grafana/schema';`);
  for (const [cfg, dir] of Object.entries(DIRS)) {
    lines.push(`import type * as ${cfg} from '@grafana/schema/dist/esm/raw/composable/${dir}/panelcfg/x/${cfg}_types.gen';`);
  }
  lines.push(`
// JSON carries a string enum's value, TypeScript wants the enum member: accept the literals.
type Lit<T> = T extends string ? \`\${T}\` : T extends Array<infer U> ? Array<Lit<U>> : T extends object ? { [K in keyof T]: Lit<T[K]> } : T;
// A Prometheus query as Grafana stores it.
interface PromQuery {
  refId: string;
  expr: string;
  datasource?: DataSourceRef;
  legendFormat?: string;
  editorMode?: 'code' | 'builder';
  range?: boolean;
  instant?: boolean;
  format?: 'time_series' | 'table' | 'heatmap';
  interval?: string;
  intervalFactor?: number;
  exemplar?: boolean;
  hide?: boolean;
}
type Typed<O, F> = Omit<Lit<Panel>, 'options' | 'fieldConfig' | 'targets'> & {
  options: Lit<O>;
  fieldConfig: Omit<Lit<FieldConfigSource>, 'defaults'> & { defaults: Omit<Lit<FieldConfig>, 'custom'> & { custom?: Lit<Partial<F>> } };
  targets: PromQuery[];
  datasource: DataSourceRef;
  description: string;
};
`);
  for (const [type, cfg] of Object.entries(PANEL_TYPES)) {
    const hasField = !['StatPanelCfg', 'BarGaugePanelCfg', 'GaugePanelCfg', 'TextPanelCfg'].includes(cfg);
    lines.push(`type Panel_${type.replace(/-/g, '_')} = Typed<${cfg}.Options, ${hasField ? `${cfg}.FieldConfig` : '{}'}> & { type: '${type}' };`);
  }
  files.forEach((file, fi) => {
    const d = load(file);
    delete d.__inputs;
    delete d.__requires;
    lines.push(`\n// ${file}`);
    lines.push(`export const dashboard${fi}: Lit<Dashboard> = ${JSON.stringify(d, null, 2)};`);
    for (const p of panelsOf(d)) {
      const t = PANEL_TYPES[p.type];
      if (!t) {
        lines.push(`// ${file}: panel ${p.id} "${p.title}": type ${p.type} has no typed options here`);
        lines.push(`const unknown_${fi}_${p.id}: 'timeseries' = ${JSON.stringify(p.type)};`);
        continue;
      }
      lines.push(`// ${file}: panel ${p.id} "${p.title}"`);
      lines.push(`export const panel${fi}_${p.id}: Panel_${p.type.replace(/-/g, '_')} = ${JSON.stringify(p, null, 2)};`);
    }
  });
  console.log(lines.join('\n'));
}

const opts = parseArgs(args);
switch (cmd) {
  case 'lint': lint(opts.files); break;
  case 'exprs': exprs(opts); break;
  case 'names': names(opts); break;
  case 'typescript': typescript(opts.files); break;
  default: fail('usage: dashcheck.mjs lint|exprs|names|typescript FILE...');
}
