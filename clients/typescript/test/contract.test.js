// The client follows the generated document (openapi.json at the
// repository's root, generated from the server's code): every operation of
// the document has a client method, and no method names an operation the
// document no longer has. No server needed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { AnalystSession, OPERATIONS } from "../src/index.js";

const doc = JSON.parse(readFileSync(new URL("../../../openapi.json", import.meta.url), "utf8"));
const key = (method, path) => `${method} ${path}`;
const documented = new Set(Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => key(m, path))));
const called = Object.values(OPERATIONS).map(([m, p]) => key(m, p));

test("every operation of the document has a client method", () => {
  const missing = [...documented].filter((op) => !called.includes(op));
  assert.deepEqual(missing, [], "operations without a client method");
});

test("no client method names an operation the document lacks", () => {
  const gone = called.filter((op) => !documented.has(op));
  assert.deepEqual(gone, [], "client methods of operations no longer in openapi.json");
  assert.equal(new Set(called).size, called.length, "two methods for one operation");
});

test("each method exists and sends its operation", () => {
  for (const [name, [method, path]] of Object.entries(OPERATIONS)) {
    const fn = AnalystSession.prototype[name]; // an AnalystSession is a Client too
    assert.equal(typeof fn, "function", `OPERATIONS names ${name}, which is no method`);
    const source = fn.toString();
    assert.ok(source.includes(`"${method}"`), `${name} does not send ${method.toUpperCase()}`);
    for (const part of path.split(/\{[^}]+\}/)) assert.ok(source.includes(part), `${name} does not call ${path}`);
  }
});

test("the type definitions declare the same operation methods", () => {
  const dts = readFileSync(new URL("../src/index.d.ts", import.meta.url), "utf8");
  const union = dts.split("export type OperationMethod =")[1]?.split(";")[0] ?? "";
  const declared = [...union.matchAll(/"([A-Za-z]+)"/g)].map((m) => m[1]).sort();
  assert.deepEqual(declared, Object.keys(OPERATIONS).sort());
});
