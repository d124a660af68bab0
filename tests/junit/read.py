"""Reads a JUnit report with junitparser (a real JUnit reader) and prints what it found as JSON, for
tests/api/identity.rs: the suites' declared totals, the totals junitparser recomputes from the cases, and each case's
name, classname, time, result elements and system-out. Exit 3 when junitparser is not installed (the test skips)."""
import json
import sys

try:
    from junitparser import JUnitXml, Failure, Error
except ImportError:
    sys.exit(3)

xml = JUnitXml.fromfile(sys.argv[1])
out = {"suites": []}
for suite in xml:
    declared = {"tests": suite.tests, "failures": suite.failures, "errors": suite.errors, "time": round(suite.time, 3)}
    cases = []
    for case in suite:
        cases.append({
            "name": case.name,
            "classname": case.classname,
            "time": case.time,
            "results": [
                {"kind": "failure" if isinstance(r, Failure) else "error" if isinstance(r, Error) else type(r).__name__,
                 "message": r.message, "type": r.type}
                for r in case.result
            ],
            "system_out": case.system_out,
        })
    suite.update_statistics()
    recomputed = {"tests": suite.tests, "failures": suite.failures, "errors": suite.errors, "time": round(suite.time, 3)}
    out["suites"].append({"name": suite.name, "declared": declared, "recomputed": recomputed, "cases": cases})
print(json.dumps(out))
