"""Smoke test of the Python client that openapi-python-client generates from gavel's served OpenAPI document.

Run by .ci/clients.sh against the real binary: GAVEL_URL is the server, GAVEL_ADMIN_KEY the server admin key from
`gavel init --json`, and the generated package `gavel_client` is on PYTHONPATH. Creates an org, a project and a
dataset, runs the dataset with a heuristic scorer, waits for the run and asserts on its summary, all through the
generated code (its models parse every answer, so a schema that disagrees with the server fails here).
"""

import os
import sys
import time
import uuid

from gavel_client import AuthenticatedClient
from gavel_client.api.runs import create_dataset, create_run, get_run, list_results
from gavel_client.api.tenancy import create_org, create_project
from gavel_client.models import CreateOrg, CreateProject, CreateRun, Dataset, ErrorBody, GateSpec, Item, Run


def ok(answer, kind):
    """The generated functions return the documented model or an ErrorBody: fail loudly on the latter."""
    if isinstance(answer, ErrorBody) or not isinstance(answer, kind):
        sys.exit(f"expected {kind.__name__}, got {answer!r}")
    return answer


def main() -> None:
    url = os.environ["GAVEL_URL"]
    admin = AuthenticatedClient(base_url=url, token=os.environ["GAVEL_ADMIN_KEY"], raise_on_unexpected_status=True)
    org = create_org.sync(client=admin, body=CreateOrg(name=f"py-client-{uuid.uuid4().hex[:8]}"))
    if isinstance(org, ErrorBody) or org is None:
        sys.exit(f"create_org: {org!r}")
    client = AuthenticatedClient(base_url=url, token=org.admin_api_key, raise_on_unexpected_status=True)
    project = create_project.sync(client=client, body=CreateProject(name="smoke"))
    if isinstance(project, ErrorBody) or project is None:
        sys.exit(f"create_project: {project!r}")
    items = [
        Item(input_="capital of France?", output="Paris", expected="Paris"),
        Item(input_="capital of Spain?", output="Madrid is the capital", expected="Madrid"),
        Item(input_="capital of Italy?", output="Milan", expected="Rome"),
    ]
    ds = ok(create_dataset.sync("smoke", client=client, body=items, name="capitals"), Dataset)
    assert ds.items == 3, ds

    answer = create_run.sync_detailed(
        "smoke", client=client, body=CreateRun(dataset_id=ds.id, scorers=["contains"], gate=GateSpec(min_pass_rate=0.9), wait_s=30.0)
    )
    assert answer.status_code in (200, 202), answer
    run_id = answer.parsed.id if isinstance(answer.parsed, Run) else answer.parsed["id"]
    deadline = time.monotonic() + 60
    while True:
        run = ok(get_run.sync(run_id, client=client), Run)
        if run.status.value in ("completed", "failed", "cancelled") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert run.status.value == "completed", run
    s = run.summary
    assert (s.items, s.passed, s.failed, s.errored) == (3, 2, 1, 0), s
    assert abs(s.pass_rate - 2 / 3) < 1e-5, s.pass_rate  # rates are rounded to 6 places
    assert s.per_scorer["contains"].pass_rate == s.pass_rate, s.per_scorer
    assert s.gate.passed is False and s.gate.reasons, s.gate  # 2/3 is under min_pass_rate 0.9

    rows = list_results.sync(run_id, client=client, limit=10)
    failed = [r.index for r in rows.items if not r.passed]
    assert failed == [2], failed
    print(f"python client: run {run_id} summary {s.passed}/{s.items} passed, as expected")


if __name__ == "__main__":
    main()
