"""Schemathesis against the OpenAPI description, with a token holding every role and then
with one token per role: whatever the generated requests, no answer is a 500, and every answer
conforms to the description (status code, content type, headers, body schema); invalid input
is refused, a missing or ignored credential is noticed, an undocumented method is refused.
Bounded for CI.

Not run: positive_data_acceptance (the vault refuses some schema-valid input by rule, such as
a reason of spaces) and the stateful checks (use after free, resource availability)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from ingest.renditions import render_pending
from tests.api.conftest import Api
from tests.api.test_http import approved_request
from vault import accounts
from vault.db import unit_of_work
from vault.models import Role

EXAMPLES_PER_OPERATION = 50
CHECKS = [
    not_a_server_error, status_code_conformance, content_type_conformance,
    response_headers_conformance, response_schema_conformance, negative_data_rejection,
    ignored_auth, missing_required_header, unsupported_method,
]  # fmt: skip


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
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        conforms()
    assert len(tried) >= 20  # every documented operation was exercised
    print(f"{len(tried)} operations x up to {EXAMPLES_PER_OPERATION} generated requests each")


@pytest.mark.parametrize("role", sorted(r.value for r in Role))
def test_each_role_gets_only_documented_answers(api: Api, role: str) -> None:
    """The same checks with the token of a user holding one role: what a role may not do is a
    documented 403, never an undocumented answer. The request and item path parameters are
    also given approved requests (a view request for the content route, an export request for
    the export route), so for the investigator those routes really deliver and export."""
    render_pending(api.vault.ingest_context())  # an export needs the rendition
    exporting = approved_request(api, purpose="export")
    headers = api.as_role(role)
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app, headers=headers)
    item = api.vault.items()[0].digest[:12]
    for result in schema.get_all_operations():
        operation = result.ok()
        request = None
        if operation.path.startswith("/requests/{ref}"):
            request = exporting if operation.path.endswith("/export") else api.request_number
        _role_check(operation, headers, request, item)()


def _role_check(
    operation: Any, headers: dict[str, str], request: str | None, item: str
) -> Callable[[], None]:
    @given(case=operation.as_strategy())
    @settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck),
              database=None)  # fmt: skip
    def conforms(case: schemathesis.Case) -> None:
        if request is not None and case.path_parameters:
            case.path_parameters["ref"] = request
            if "item" in case.path_parameters:
                case.path_parameters["item"] = item
        case.call_and_validate(headers=headers, checks=CHECKS)

    return conforms
