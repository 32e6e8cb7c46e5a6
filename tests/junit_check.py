# SPDX-License-Identifier: GPL-2.0-only
"""Parses a campaign's junit.xml with junitparser (a reader CI systems share) and checks its
shape: one suite per scenario named on the command line, every failing case naming its cause,
catalogue id and replay command, every suite either failing or holding one passing "clean" case.
Usage: junit_check.py JUNIT_XML SCENARIO... ; exit 0 when it holds."""
import sys

from junitparser import Failure, JUnitXml


def main(path, scenarios):
    xml = JUnitXml.fromfile(path)
    suites = {suite.name: suite for suite in xml}
    assert sorted(suites) == sorted(scenarios), (sorted(suites), scenarios)
    failures = 0
    for name, suite in suites.items():
        cases = list(suite)
        assert cases, name + ": no testcase"
        failed = [c for c in cases if any(isinstance(r, Failure) for r in c.result)]
        failures += len(failed)
        for case in failed:
            message = case.result[0].message
            assert "cause " + case.name in message, message
            assert "catalogue id: " in message and "replay: snapsim run" in message, message
        if not failed:
            assert [c.name for c in cases] == ["clean"], (name, [c.name for c in cases])
    print("junit.xml: %d suites, %d failing testcases" % (len(suites), failures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
