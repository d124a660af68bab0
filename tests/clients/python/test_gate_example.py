"""An evaluation as a pytest test: the test fails when gavel's gate fails (docs/pytest.md)."""

import json
import os
import pathlib

import httpx
import pytest

GAVEL_URL = os.environ.get("GAVEL_URL", "http://127.0.0.1:8080")
GAVEL_API_KEY = os.environ.get("GAVEL_API_KEY", "")
GAVEL_PROJECT = os.environ.get("GAVEL_PROJECT", "web")
DATASET = pathlib.Path(os.environ.get("GAVEL_EVAL_DATASET", pathlib.Path(__file__).with_name("capitals.jsonl")))


@pytest.fixture(scope="session")
def gavel():
    if not GAVEL_API_KEY:
        pytest.skip("set GAVEL_API_KEY (and GAVEL_URL, GAVEL_PROJECT) to run the evaluation")
    with httpx.Client(base_url=GAVEL_URL, headers={"X-API-Key": GAVEL_API_KEY}, timeout=130) as client:
        yield client


def evaluate(client, items, scorers, gate, wait_s=120):
    """Submit a run and hold the request until it finishes (wait_s); return the finished run."""
    body = {"dataset": items, "scorers": scorers, "gate": gate, "wait_s": wait_s}
    answer = client.post(f"/v1/projects/{GAVEL_PROJECT}/runs", json=body)
    answer.raise_for_status()
    run = answer.json()
    assert answer.status_code == 200, f"run {run['id']} did not finish within {wait_s} s"
    return run


def test_answers_pass_the_gate(gavel):
    items = [json.loads(line) for line in DATASET.read_text().splitlines() if line.strip()]
    run = evaluate(gavel, items, scorers=["contains"], gate={"min_pass_rate": 0.9})
    summary = run["summary"]
    reasons = "; ".join(summary["gate"]["reasons"])
    assert summary["gate"]["passed"], f"gavel gate failed for run {run['id']}: {reasons}"
