"""One use case, one service entry point: the CLI command and the HTTP route of each use case
call the same service function, so every rule and every custody event is the same whichever
door a person uses (a route that reached past it once skipped retention for attached items)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# use case: (CLI module:function, HTTP route module:function, the service function both call)
USE_CASES = {
    "open a case": ("api.cli.steps:LocalSteps.open_case", "api.http.routes.cases:post_case",
                    "vault.cases.open_case"),
    "attach items to a case": ("api.cli.steps:LocalSteps.attach",
                               "api.http.routes.cases:post_case_items", "retention.changes.attach"),
    "close a case": ("api.cli.steps:LocalSteps.close_case",
                     "api.http.routes.retention:post_case_close",
                     "retention.changes.close_case"),
    "flag a case": ("api.cli.steps:LocalSteps.flag_case",
                    "api.http.routes.retention:post_case_flags",
                    "retention.changes.flag_case"),
    "categorise an item": ("api.cli.retention:categorize",
                           "api.http.routes.retention:post_categories",
                           "retention.changes.categorize"),
    "edit the policy": ("api.cli.retention:policy_set", "api.http.routes.retention:put_policy",
                        "retention.changes.edit_policy"),
    "place a hold": ("api.cli.steps:LocalSteps.place_hold", "api.http.routes.retention:post_hold",
                     "retention.holds.place_hold"),
    "release a hold": ("api.cli.steps:LocalSteps.release_hold",
                       "api.http.routes.retention:post_release",
                       "retention.holds.release_hold"),
    "appraise": ("api.cli.steps:LocalSteps.appraise", "api.http.routes.retention:post_appraisal",
                 "retention.appraisal.appraise"),
    "approve a destruction": ("api.cli.steps:LocalSteps.decide",
                              "api.http.routes.retention:post_approve",
                              "retention.appraisal.decide_batch"),
    "refuse a destruction": ("api.cli.steps:LocalSteps.decide",
                             "api.http.routes.retention:post_refuse",
                             "retention.appraisal.decide_batch"),
    "supervise": ("api.cli.steps:LocalSteps.supervise", "api.http.routes.retention:post_supervise",
                  "retention.appraisal.supervise"),
    "destroy": ("api.cli.steps:LocalSteps.destroy", "api.http.routes.retention:post_execute",
                "retention.destruction.execute"),
    # `evault request/approve/refuse` act through api.cli.reads, and the retention, hold and
    # case steps through api.cli.steps: on the vault's host their Local* classes; with --url,
    # the API's route itself.
    "ask for access": ("api.cli.reads:LocalReads.ask", "api.http.routes.requests:post_request",
                       "custody.access.requests.create_request"),
    "approve access": ("api.cli.reads:LocalReads.decide", "api.http.routes.requests:approve",
                       "custody.access.requests.decide"),
    "refuse access": ("api.cli.reads:LocalReads.decide", "api.http.routes.requests:refuse",
                      "custody.access.requests.decide"),
    # The API's route and the console's player both answer with delivery_response.
    "receive the bytes": ("api.cli.requests:fetch", "api.http.delivery_response:delivery_response",
                          "custody.access.handover.hand_over"),
    "export for court": ("api.cli.export:export_command", "api.http.routes.exports:post_export",
                         "export.package.export"),
    "explain a gap": ("api.cli.gaps:explain", "api.http.routes.gaps:post_explanation",
                      "ingest.gap_service.explain_gap"),
}  # fmt: skip


def _imports(tree: ast.AST) -> dict[str, str]:
    """Local name -> what it names, from every import in ``tree`` (functions' own too)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
    return names


def _called(where: str) -> set[str]:
    """Every function a function calls, fully qualified, following calls to functions of its
    own module (a CLI command's private helper)."""
    module, function = where.split(":")
    path = Path(importlib.import_module(module).__file__ or "")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = _imports(tree)
    defined = (ast.FunctionDef, ast.AsyncFunctionDef)  # the API's routes are coroutines
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, defined)}
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):  # Class.method
        functions |= {f"{cls.name}.{f.name}": f for f in cls.body if isinstance(f, defined)}
    found: set[str] = set()
    todo, seen = [function], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for node in ast.walk(functions[name]):
            if not isinstance(node, ast.Call):
                continue
            if isinstance(node.func, ast.Name):
                if node.func.id in functions:
                    todo.append(node.func.id)
                found.add(names.get(node.func.id, f"{module}.{node.func.id}"))
            elif isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
                base = names.get(node.func.value.id, node.func.value.id)
                found.add(f"{base}.{node.func.attr}")
    return found


@pytest.mark.parametrize("use_case", sorted(USE_CASES))
def test_the_cli_and_the_api_call_the_same_service(use_case: str) -> None:
    cli, route, service = USE_CASES[use_case]
    assert service in _called(cli), f"{cli} does not call {service}"
    assert service in _called(route), f"{route} does not call {service}"
