// check_responses.mjs itself, against the real docs/openapi.yaml: recorded answers made up to be
// right or wrong in one way each must pass or fail, naming the operation, status and pointer.
// A checker that passed everything would pass openapi_responses too; this is what fails then.
//
// usage: node --test check_responses.test.mjs
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const checker = new URL('./check_responses.mjs', import.meta.url).pathname;
const doc = new URL('../../docs/openapi.yaml', import.meta.url).pathname;

// Runs the checker on these records; returns { status, out }.
function check(records) {
  const dir = mkdtempSync(join(tmpdir(), 'dc-api-check-'));
  try {
    if (records.length) writeFileSync(join(dir, 'made-up-1.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const p = spawnSync(process.execPath, [checker, doc, dir], { encoding: 'utf8' });
    return { status: p.status, out: p.stdout + p.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const answer = (method, path, status, body, ctype = 'application/json') =>
  ({ method, path, status, content_type: ctype, body: body === null ? null : JSON.stringify(body) });
const problem = (status, code) => ({ type: 'about:blank', title: 'x', status, code, detail: 'x' });

const good = [
  answer('GET', '/healthz', 200, { status: 'ok', node: 'n1', store: 'sqlite', leader: true, last_pass: null }),
  answer('GET', '/v1/conflicts?state=open', 200, { conflicts: [{ id: 'cf_1', kind: 'strategic', state: 'open' }] }),
  answer('HEAD', '/v1/tracks', 200, null),
  answer('GET', '/v1/party', 401, problem(401, 'unauthorized'), 'application/problem+json'),
  answer('GET', '/v1/operations/op_1', 503, problem(503, 'store_unavailable'), 'application/problem+json'),
  answer('DELETE', '/v1/operations', 405, problem(405, 'method_not_allowed'), 'application/problem+json'),
  answer('GET', '/v1/no-such-thing', 404, problem(404, 'not_found'), 'application/problem+json'),
  { method: 'GET', path: '/v1/events', event: 'operation.created', id: '7', data: JSON.stringify({ id: 'op_1', state: 'planned', version: 1 }) },
];

test('answers that match the document pass', () => {
  const r = check(good);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /8 recorded answers/);
  assert.match(r.out, /every recorded answer matches the document/);
});

const wrong = [
  ['a member the document does not name', answer('GET', '/v1/conflicts/cf_1', 200, { id: 'cf_1', surprise: 1 }),
    /getConflict 200: \/ must NOT have additional properties \{"additionalProperty":"surprise"\}/],
  ['a value of the wrong type, deep in a list', answer('GET', '/v1/conflicts', 200, { conflicts: [{ id: 'cf_1' }, { id: 5 }] }),
    /listConflicts 200: \/conflicts\/1\/id must be string/],
  ['a status the operation does not list', answer('GET', '/v1/party', 418, problem(418, 'not_found'), 'application/problem+json'),
    /getParty \(GET \/v1\/party\): status 418 is not in the document/],
  ['a content type the response does not list', answer('GET', '/healthz', 200, 'ok', 'text/plain'),
    /getHealth 200: content type 'text\/plain' is not documented/],
  ['a code the Problem schema does not list', answer('GET', '/v1/party', 401, problem(401, 'nope'), 'application/problem+json'),
    /getParty 401: \/code must be equal to one of the allowed values/],
  ['JSON that is not JSON', { ...answer('GET', '/v1/party', 200, null), body: '{"id": 1,' },
    /getParty 200: application\/json that is not JSON/],
  ['a path the document does not have, answered', answer('GET', '/v1/secret', 200, {}),
    /GET \/v1\/secret: answered 200, but the document has no such path/],
  ['an event type the document does not list', { method: 'GET', path: '/v1/events', event: 'operation.exploded', id: '8', data: '{}' },
    /event operation.exploded: \/type must be equal to one of the allowed values/],
  ['an event whose data is not its object', { method: 'GET', path: '/v1/events', event: 'message.new', id: '9', data: JSON.stringify({ id: 'm', state: 'lost' }) },
    /event message.new: \/data\/state must be equal to one of the allowed values/],
];
for (const [what, rec, expected] of wrong) {
  test(`fails on ${what}`, () => {
    const r = check([...good, rec]);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, expected);
    assert.match(r.out, /1 distinct mismatches/);
  });
}

test('nothing recorded is a failure that says what to run', () => {
  const r = check([]);
  assert.equal(r.status, 1, r.out);
  assert.match(r.out, /nothing recorded in .*run them first/);
});
