// Validates Kubernetes API bodies with a third-party validator: the kubernetes-models package
// (the Kubernetes OpenAPI schemas compiled to JSON-schema validators), so the tests' fake API and
// the controller are not checked only against our own reading of the API.
//
// Usage: node tools/validate-k8s.mjs FILE
//   FILE: a JSON array of {"kind": "Secret", "where": "POST /api/v1/... request",
//                          "body": "<the body as sent>", "http_status": 201}
//   kinds: Secret, SecretList, Status, DeleteOptions, APIVersions, APIResourceList, APIGroupList
// Exit 0: every body is valid; 1: some are not (one "INVALID ..." line each); 2: usage errors.
//
// On top of the schemas (which allow unknown fields, as the API server's non-strict decoding
// does), bodies are checked strictly: the exact apiVersion and kind, no unknown top-level or
// metadata fields (a typo would be dropped silently by a real server), a Status whose code is
// the HTTP status of its reply.
import { readFileSync } from "node:fs";

import { Secret } from "kubernetes-models/v1/Secret";
import { SecretList } from "kubernetes-models/v1/SecretList";
import { APIGroupList } from "@kubernetes-models/apimachinery/apis/meta/v1/APIGroupList";
import { APIResourceList } from "@kubernetes-models/apimachinery/apis/meta/v1/APIResourceList";
import { APIVersions } from "@kubernetes-models/apimachinery/apis/meta/v1/APIVersions";
import { DeleteOptions } from "@kubernetes-models/apimachinery/apis/meta/v1/DeleteOptions";
import { Status } from "@kubernetes-models/apimachinery/apis/meta/v1/Status";

const OBJECT_META = [
  "annotations", "creationTimestamp", "deletionGracePeriodSeconds", "deletionTimestamp",
  "finalizers", "generateName", "generation", "labels", "managedFields", "name", "namespace",
  "ownerReferences", "resourceVersion", "selfLink", "uid",
];
const LIST_META = ["continue", "remainingItemCount", "resourceVersion", "selfLink"];

// kind -> the model, whether apiVersion must be written, the allowed top-level fields and the
// allowed fields of its metadata.
const KINDS = {
  Secret: { model: Secret, apiVersion: "v1", fields: ["apiVersion", "kind", "metadata", "data",
    "stringData", "type", "immutable"], meta: OBJECT_META },
  SecretList: { model: SecretList, apiVersion: "v1", fields: ["apiVersion", "kind", "metadata",
    "items"], meta: LIST_META },
  Status: { model: Status, apiVersion: "v1", fields: ["apiVersion", "kind", "metadata", "status",
    "message", "reason", "details", "code"], meta: LIST_META },
  DeleteOptions: { model: DeleteOptions, apiVersion: "v1", fields: ["apiVersion", "kind",
    "dryRun", "gracePeriodSeconds", "orphanDependents", "preconditions", "propagationPolicy"] },
  APIVersions: { model: APIVersions, fields: ["apiVersion", "kind", "versions",
    "serverAddressByClientCIDRs"] },
  APIResourceList: { model: APIResourceList, fields: ["apiVersion", "kind", "groupVersion",
    "resources"] },
  APIGroupList: { model: APIGroupList, fields: ["apiVersion", "kind", "groups"] },
};

function problems(kind, text, httpStatus) {
  const spec = KINDS[kind];
  if (!spec) return [`unknown kind ${kind} (known: ${Object.keys(KINDS).join(", ")})`];
  let body;
  try {
    body = JSON.parse(text);
  } catch (e) {
    return [`not JSON: ${e.message}`];
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) return ["not an object"];
  const out = [];
  if (body.kind !== kind) out.push(`kind is ${JSON.stringify(body.kind)}, expected ${kind}`);
  if (spec.apiVersion && body.apiVersion !== spec.apiVersion) {
    out.push(`apiVersion is ${JSON.stringify(body.apiVersion)}, expected ${spec.apiVersion}`);
  }
  for (const k of Object.keys(body)) {
    if (!spec.fields.includes(k)) out.push(`unknown field ${k}`);
  }
  if (spec.meta && body.metadata && typeof body.metadata === "object") {
    for (const k of Object.keys(body.metadata)) {
      if (!spec.meta.includes(k)) out.push(`unknown field metadata.${k}`);
    }
  }
  if (kind === "Status") {
    if (!["Success", "Failure"].includes(body.status)) {
      out.push(`status is ${JSON.stringify(body.status)}, expected Success or Failure`);
    }
    if (body.status === "Failure" && httpStatus && body.code !== httpStatus) {
      out.push(`code ${body.code} differs from the reply's HTTP status ${httpStatus}`);
    }
  }
  if (kind === "SecretList" && Array.isArray(body.items)) {
    body.items.forEach((item, i) => {
      for (const p of problems("Secret", JSON.stringify({ apiVersion: "v1", kind: "Secret",
        ...item }), 0)) {
        out.push(`items[${i}]: ${p}`);
      }
    });
  }
  try {
    new spec.model(body).validate();
  } catch (e) {
    out.push(`kubernetes-models: ${e.message}`);
  }
  return out;
}

function main() {
  if (process.argv.length !== 3) {
    console.error("usage: node validate-k8s.mjs FILE");
    return 2;
  }
  let entries;
  try {
    entries = JSON.parse(readFileSync(process.argv[2], "utf8"));
  } catch (e) {
    console.error(`cannot read ${process.argv[2]}: ${e.message}`);
    return 2;
  }
  const counts = {};
  let bad = 0;
  for (const e of entries) {
    counts[e.kind] = (counts[e.kind] || 0) + 1;
    for (const p of problems(e.kind, e.body, e.http_status)) {
      console.log(`INVALID ${e.where}: ${e.kind}: ${p}`);
      ++bad;
    }
  }
  const summary = Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(", ");
  console.log(`validated ${entries.length} bodies (${summary || "none"}): ${bad} problem(s)`);
  return bad === 0 ? 0 : 1;
}

process.exitCode = main();
