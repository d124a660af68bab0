// Smoke test of the TypeScript client generated from gavel's served OpenAPI document: openapi-typescript makes
// gen/schema.d.ts (the types of every path), openapi-fetch makes the calls, and `tsc` type-checks this file
// against the generated types before it runs, so a path, a field or a body the document does not describe fails
// the build. Run by .ci/clients.sh against the real binary: GAVEL_URL, GAVEL_ADMIN_KEY (from `gavel init --json`).
import createClient from "openapi-fetch";
import type { paths } from "./gen/schema.js";

// The two bits of Node this needs, declared here rather than pulling in @types/node.
declare const process: { env: Record<string, string | undefined>; exit(code: number): never };

function fail(what: string, detail: unknown): never {
  console.error(`${what}: ${JSON.stringify(detail)}`);
  process.exit(1);
}

function check(cond: boolean, what: string, detail: unknown): void {
  if (!cond) fail(what, detail);
}

const baseUrl = process.env.GAVEL_URL ?? fail("GAVEL_URL", "not set");
const adminKey = process.env.GAVEL_ADMIN_KEY ?? fail("GAVEL_ADMIN_KEY", "not set");

async function main(): Promise<void> {
  const admin = createClient<paths>({ baseUrl, headers: { "X-API-Key": adminKey } });
  const org = await admin.POST("/v1/orgs", { body: { name: `ts-client-${Date.now()}` } });
  if (!org.data) fail("create org", org.error);
  const api = createClient<paths>({ baseUrl, headers: { "X-API-Key": org.data.admin_api_key } });

  const project = await api.POST("/v1/projects", { body: { name: "smoke" } });
  if (!project.data) fail("create project", project.error);
  const ds = await api.POST("/v1/projects/{project}/datasets", {
    params: { path: { project: "smoke" }, query: { name: "capitals" } },
    body: [
      { input: "capital of France?", output: "Paris", expected: "Paris" },
      { input: "capital of Spain?", output: "Madrid is the capital", expected: "Madrid" },
      { input: "capital of Italy?", output: "Milan", expected: "Rome" },
    ],
  });
  if (!ds.data) fail("create dataset", ds.error);
  check(ds.data.items === 3, "dataset items", ds.data);

  const created = await api.POST("/v1/projects/{project}/runs", {
    params: { path: { project: "smoke" } },
    body: { dataset_id: ds.data.id, scorers: ["contains"], gate: { min_pass_rate: 0.9 } },
  });
  if (created.error) fail("create run", created.error);
  const runId = (created.data as { id: string }).id;
  check(created.response.status === 202, "a run without wait_s is accepted with 202", created.response.status);

  const deadline = Date.now() + 60_000;
  let run = (await api.GET("/v1/runs/{id}", { params: { path: { id: runId } } })).data;
  while (run && !["completed", "failed", "cancelled"].includes(run.status) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    run = (await api.GET("/v1/runs/{id}", { params: { path: { id: runId } } })).data;
  }
  if (!run) fail("get run", runId);
  check(run.status === "completed", "run status", run);
  const s = run.summary;
  if (!s) fail("summary", run);
  check(s.items === 3 && s.passed === 2 && s.failed === 1 && s.errored === 0, "summary counts", s);
  check(Math.abs(s.pass_rate - 2 / 3) < 1e-5, "pass rate", s.pass_rate);
  check(s.gate.passed === false && s.gate.reasons.length > 0, "gate fails under min_pass_rate 0.9", s.gate);

  const results = await api.GET("/v1/runs/{id}/results", { params: { path: { id: runId }, query: { limit: 10 } } });
  if (!results.data) fail("results", results.error);
  const failed = results.data.items.filter((r) => !r.passed).map((r) => r.index);
  check(JSON.stringify(failed) === "[2]", "failed items", failed);

  const missing = await api.GET("/v1/runs/{id}", { params: { path: { id: "run_missing" } } });
  check(missing.response.status === 404 && missing.error?.error.code === "NOT_FOUND", "typed error body", missing.error);
  console.log(`typescript client: run ${runId} summary ${s.passed}/${s.items} passed, as expected`);
}

main().catch((e) => fail("unexpected", String(e)));
