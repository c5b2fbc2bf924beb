"""Schemathesis against the OpenAPI description, with a token holding every role: whatever
the generated requests, no answer is a 500. Bounded (examples per operation) for CI."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.api.conftest import Api
from vault import accounts
from vault.db import unit_of_work
from vault.models import Role

EXAMPLES_PER_OPERATION = 50


@pytest.fixture
def everything_token(api: Api) -> str:
    with unit_of_work(api.vault.app.factory) as session:
        accounts.add_user(session, username="fuzzer", roles=[r.value for r in Role])
        return accounts.issue_token(session, username="fuzzer").secret


def test_no_server_errors(api: Api, everything_token: str) -> None:
    headers = {"Authorization": f"Bearer {everything_token}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app, headers=headers)
    tried = []
    for result in schema.get_all_operations():
        operation = result.ok()
        tried.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
            )

        no_server_error()
    assert len(tried) >= 20  # every documented operation was exercised
    print(f"{len(tried)} operations x up to {EXAMPLES_PER_OPERATION} generated requests each")
