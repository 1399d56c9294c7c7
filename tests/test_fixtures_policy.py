"""Tests that read ../shared/fixtures skip when it is absent, except under CI=true (issue 2)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import SHARED_FIXTURES, shared_fixtures


def test_absent_fixtures_skip_with_the_reason(tmp_path):
    missing = tmp_path / "shared" / "fixtures"
    with pytest.raises(
        pytest.skip.Exception, match=re.escape(f"shared fixtures not found at {missing}")
    ):
        shared_fixtures(missing, {})


@pytest.mark.parametrize("ci", ["false", ""])
def test_only_ci_true_turns_the_skip_into_a_failure(tmp_path, ci):
    with pytest.raises(pytest.skip.Exception):
        shared_fixtures(tmp_path / "absent", {"CI": ci})


def test_absent_fixtures_fail_the_run_under_ci(tmp_path):
    missing = tmp_path / "absent"
    with pytest.raises(pytest.fail.Exception, match=re.escape(str(missing))):
        shared_fixtures(missing, {"CI": "true"})


def test_present_fixtures_are_used_in_place(tmp_path):
    assert shared_fixtures(tmp_path, {"CI": "true"}) == tmp_path
    assert SHARED_FIXTURES.parts[-2:] == ("shared", "fixtures")
