// Every answer the integration tests received, validated against docs/openapi.yaml, so that the
// document and the server cannot drift apart (docs/service.md, "The API document").
//
// The tests record each answer (tests/integration/api_record.py, console/test/harness.mjs) as a
// JSON line in RECORD_DIR. Each is matched to the document's operation by its path (concrete
// paths before templated ones, as OpenAPI says) and method (HEAD as GET, without a body); its
// status must be one of the operation's responses (exactly, by range such as 5XX, or `default`);
// its content type one the response documents; a JSON body must validate against the response's
// schema (Ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses it). Events read from /v1/events are
// validated against the schema the document gives them (x-event-schema of the stream's 200).
//
// Read as a closed world: an object schema that lists `properties` and says nothing of
// `additionalProperties` is checked as if it said false, so a field the server sends and the
// document does not name is an error here. The document itself leaves objects open, as clients
// should read them (new fields may come); the check is that none comes undocumented.
//
// A path no operation has is accepted only as a 404, and a method a documented path does not
// answer only as a 405, each with a Problem body. Nothing recorded is a failure: this runs after
// the integration tests (ctest DEPENDS), which record into the build directory's
// api-responses/; alone it checks what the last run recorded.
//
// usage: node check_responses.mjs OPENAPI_YAML RECORD_DIR
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

// The packages are the console's (console/package.json, devDependencies; `npm ci`).
const require = createRequire(new URL('../../console/package.json', import.meta.url));
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats').default;
const YAML = require('yaml');

const [docPath, recordDir] = process.argv.slice(2);
if (!recordDir) {
  console.error('usage: node check_responses.mjs OPENAPI_YAML RECORD_DIR');
  process.exit(2);
}

const doc = YAML.parse(readFileSync(docPath, 'utf8'));
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
// Keywords whose subschemas describe other instances (members, items) or definitions, and keywords
// whose subschemas apply to the same instance (in place): those are never closed themselves,
// the schema that holds them is (unevaluatedProperties sees what they evaluated).
const SCHEMA_MAPS = ['properties', 'patternProperties', '$defs'];
const SCHEMA_ONE = ['items', 'additionalProperties', 'unevaluatedProperties', 'unevaluatedItems', 'contains',
  'propertyNames', 'contentSchema'];
const IN_PLACE_ONE = ['if', 'then', 'else', 'not'];
const COMPONENT = '#/components/schemas/';

// A local $ref's target in the document.
function deref(ref) {
  if (!ref.startsWith('#/')) throw new Error(`only local references are followed: ${ref}`);
  return ref.slice(2).split('/').reduce((o, k) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
}
const resolve = (o) => (o && o.$ref ? resolve(deref(o.$ref)) : o);

// The schema as the check reads it: closed (above), references to components rewritten to the
// components schema registered below, and extensions (x-...) left out. `open`: the schema
// applies in place within another (allOf, if/then/else, not, ...), which is closed instead.
function closed(s, open = false) {
  if (Array.isArray(s)) return s.map((x) => closed(x));
  if (!s || typeof s !== 'object') return s;
  const alternatives = (s.anyOf || s.oneOf) && s.properties; // branches that add to the members
  const out = {};
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith('x-')) continue;
    if (k === '$ref') out.$ref = v.startsWith(COMPONENT) ? `components#/$defs/${v.slice(COMPONENT.length)}` : v;
    else if (SCHEMA_MAPS.includes(k)) out[k] = Object.fromEntries(Object.entries(v).map(([n, x]) => [n, closed(x)]));
    else if (k === 'dependentSchemas') out[k] = Object.fromEntries(Object.entries(v).map(([n, x]) => [n, closed(x, true)]));
    else if (SCHEMA_ONE.includes(k)) out[k] = typeof v === 'object' ? closed(v) : v;
    else if (IN_PLACE_ONE.includes(k)) out[k] = closed(v, true);
    else if (k === 'prefixItems') out[k] = v.map((x) => closed(x));
    else if (k === 'anyOf' || k === 'oneOf') out[k] = v.map((x) => closed(x, !!alternatives));
    else if (k === 'allOf') out[k] = v.map((x) => closed(x.$ref ? deref(x.$ref) : x, true));
    else out[k] = v;
  }
  const says = 'additionalProperties' in s || 'unevaluatedProperties' in s || 'patternProperties' in s;
  const inPlace = s.allOf || s.if || s.dependentSchemas || alternatives;
  if (!open && !says && inPlace) out.unevaluatedProperties = false;
  else if (!open && !says && s.properties) out.additionalProperties = false;
  return out;
}

const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictTuples: false });
addFormats(ajv);
ajv.addKeyword('example'); // OpenAPI's own annotation keywords
ajv.addKeyword('discriminator');
ajv.addKeyword('xml');
ajv.addKeyword('externalDocs');
ajv.addSchema({
  $id: 'components',
  $defs: Object.fromEntries(Object.entries(doc.components?.schemas ?? {}).map(([n, s]) => [n, closed(s)])),
});
const compiled = new Map();
function validator(schema, where) {
  if (!compiled.has(schema)) {
    try {
      compiled.set(schema, ajv.compile(closed(schema)));
    } catch (e) {
      throw new Error(`the document's schema at ${where} does not compile: ${e.message}`);
    }
  }
  return compiled.get(schema);
}

// ---- the document's operations ----

const ops = []; // { id, method, template, re, op }
for (const [template, item] of Object.entries(doc.paths ?? {})) {
  const re = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}/]+\}/g, '[^/]+')}$`);
  const params = (template.match(/\{/g) || []).length;
  for (const m of METHODS) {
    if (item[m]) ops.push({ id: item[m].operationId || `${m.toUpperCase()} ${template}`, method: m, template, re, params, op: item[m] });
  }
}
// Concrete paths before templated ones, then fewer parameters first.
ops.sort((a, b) => a.params - b.params);
const templates = [...new Set(ops.map((o) => o.template))].map((t) => ops.find((o) => o.template === t));

const problemSchema = doc.components?.schemas?.Problem;
const stream = doc.paths?.['/v1/events']?.get?.responses?.['200']?.content?.['text/event-stream'];
// The stream's events: x-event-schema describes each as {id, type, data} (OpenAPI 3.1 has no
// keyword for a stream's items; 3.2's itemSchema is the same idea).
const eventSchema = stream?.['x-event-schema'];
const eventTypes = resolve(eventSchema)?.properties?.type?.enum ?? [];

// ---- the records ----

if (!existsSync(recordDir) || !readdirSync(recordDir).some((f) => f.endsWith('.jsonl'))) {
  console.log(`FAIL nothing recorded in ${recordDir}: the integration tests record there when ctest runs them ` +
    '(DC_API_RECORD); run them first (make test, or ctest -R "integration_|openapi_responses")');
  process.exit(1);
}
const records = [];
let unreadable = 0;
for (const f of readdirSync(recordDir).filter((n) => n.endsWith('.jsonl')).sort()) {
  for (const line of readFileSync(join(recordDir, f), 'utf8').split('\n')) {
    try {
      if (line.trim()) records.push({ ...JSON.parse(line), file: f });
    } catch {
      unreadable++; // a line cut short by a test that was killed while writing it
    }
  }
}
if (unreadable) console.log(`(${unreadable} recorded lines were not JSON and are left out)`);

const perOp = new Map(); // id -> Map(status -> count)
const perEvent = new Map();
const failures = new Map(); // signature -> { text, count, example }
let checked = 0;
let bodies = 0;

function fail(sig, text, rec) {
  const f = failures.get(sig) || { text, count: 0, example: `${rec.method} ${rec.path} (${rec.file})` };
  f.count++;
  failures.set(sig, f);
}
function count(map, key, sub) {
  if (!map.has(key)) map.set(key, new Map());
  const m = map.get(key);
  m.set(sub, (m.get(sub) || 0) + 1);
}
function validate(schema, where, value, label, rec) {
  let v;
  try {
    v = validator(schema, where);
  } catch (e) {
    fail(`compile ${where}`, e.message, rec);
    return;
  }
  bodies++;
  if (v(value)) return;
  // "must match the then schema" only repeats the error found inside it.
  const errors = v.errors.filter((e) => e.keyword !== 'if');
  for (const e of errors.length ? errors : v.errors) {
    const params = e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : '';
    // Array indices are folded so that one mistake repeated over a list is one failure.
    const pointer = e.instancePath || '/';
    fail(`${label} ${pointer.replace(/\/\d+(?=\/|$)/g, '/*')} ${e.message}${params}`,
      `${label}: ${pointer} ${e.message}${params} (schema ${e.schemaPath})`, rec);
  }
}

const mediaType = (ct) => (ct || '').split(';')[0].trim().toLowerCase();
const isJson = (mt) => mt === 'application/json' || mt.endsWith('+json');

function checkBody(rec, response, label, where) {
  const content = response.content;
  const mt = mediaType(rec.content_type);
  if (!content) {
    if (rec.body) fail(`${label} body`, `${label}: the document gives no content, the answer has a body (${mt})`, rec);
    return;
  }
  const key = Object.keys(content).find((k) => k.toLowerCase() === mt) ??
    Object.keys(content).find((k) => k.endsWith('/*') && mt.startsWith(k.slice(0, -1))) ??
    Object.keys(content).find((k) => k === '*/*');
  if (!key) {
    fail(`${label} type ${mt}`, `${label}: content type '${mt}' is not documented (${Object.keys(content).join(', ')})`, rec);
    return;
  }
  if (rec.body == null || !isJson(mt)) return;
  let value;
  try {
    value = JSON.parse(rec.body);
  } catch (e) {
    fail(`${label} json`, `${label}: ${mt} that is not JSON (${e.message})`, rec);
    return;
  }
  const schema = content[key].schema;
  if (schema) validate(schema, `${where}/content/${key}/schema`, value, label, rec);
}

function checkProblemOnly(rec, label) {
  if (rec.body && isJson(mediaType(rec.content_type)) && problemSchema) {
    let value;
    try {
      value = JSON.parse(rec.body);
    } catch (e) {
      fail(`${label} json`, `${label}: a body that is not JSON (${e.message})`, rec);
      return;
    }
    validate({ $ref: `${COMPONENT}Problem` }, 'components/schemas/Problem', value, label, rec);
  }
}

for (const rec of records) {
  checked++;
  if (rec.event !== undefined) {
    count(perEvent, rec.event, 'event');
    const label = `event ${rec.event}`;
    if (!eventSchema) {
      fail('event', 'events: the document describes none (x-event-schema of GET /v1/events, 200)', rec);
      continue;
    }
    let value;
    try {
      value = JSON.parse(rec.data);
    } catch (e) {
      fail(`${label} json`, `${label}: data that is not JSON (${e.message})`, rec);
      continue;
    }
    validate(eventSchema, 'x-event-schema', { id: Number(rec.id), type: rec.event, data: value }, label, rec);
    continue;
  }
  const path = String(rec.path).split('?')[0];
  const method = String(rec.method).toLowerCase();
  const matched = templates.find((o) => o.re.test(path));
  if (!matched) {
    const label = `(no such path) ${rec.status}`;
    count(perOp, '(a path the document does not have)', rec.status);
    if (rec.status !== 404) fail(label, `${rec.method} ${path}: answered ${rec.status}, but the document has no such path`, rec);
    else checkProblemOnly(rec, label);
    continue;
  }
  const o = ops.find((x) => x.template === matched.template && x.method === (method === 'head' ? 'get' : method));
  if (!o) {
    const label = `${rec.method} ${matched.template} (not answered) ${rec.status}`;
    count(perOp, '(a method the path does not answer)', rec.status);
    if (rec.status !== 405) fail(label, `${label}: a method the document does not give this path must be 405`, rec);
    else checkProblemOnly(rec, label);
    continue;
  }
  const status = String(rec.status);
  const responses = o.op.responses ?? {};
  const key = status in responses ? status : `${status[0]}XX` in responses ? `${status[0]}XX` : 'default' in responses ? 'default' : null;
  count(perOp, o.id, rec.status);
  const label = `${o.id} ${status}`;
  if (!key) {
    fail(`${label} status`, `${o.id} (${o.method.toUpperCase()} ${o.template}): status ${status} is not in the document (${Object.keys(responses).join(', ')})`, rec);
    continue;
  }
  checkBody(rec, resolve(responses[key]), label, `paths/${o.template}/${o.method}/responses/${key}`);
}

// ---- the report ----

console.log(`${checked} recorded answers from ${new Set(records.map((r) => r.file)).size} test processes; ${bodies} JSON bodies validated`);
console.log('answers checked per operation (status: count):');
for (const [id, m] of [...perOp].sort()) {
  console.log(`  ${id.padEnd(34)} ${[...m].sort().map(([s, n]) => `${s}: ${n}`).join(', ')}`);
}
if (perEvent.size) {
  console.log(`events checked: ${[...perEvent].sort().map(([e, m]) => `${e} ${m.get('event')}`).join(', ')}`);
}
const unexercised = ops.filter((o) => !perOp.has(o.id)).map((o) => o.id);
console.log(`operations no test exercised (information): ${unexercised.length ? unexercised.join(', ') : 'none'}`);
const silentEvents = eventTypes.filter((e) => !perEvent.has(e));
if (eventTypes.length) {
  console.log(`event types no test received (information): ${silentEvents.length ? silentEvents.join(', ') : 'none'}`);
}
if (failures.size) {
  console.log(`\n${failures.size} distinct mismatches between the answers and docs/openapi.yaml:`);
  for (const f of failures.values()) console.log(`FAIL ${f.text}\n       ${f.count} time(s), e.g. ${f.example}`);
  process.exit(1);
}
console.log('every recorded answer matches the document');
