"""A console form is checked by the same rules as the JSON API: the API's own request model
(its field limits and patterns, pydantic's messages) and then the service, whose refusal is
the text the API's problem+json carries. Each message is placed beside the field it is about.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from vault.errors import InputRejected, VaultError

Model = TypeVar("Model", bound=BaseModel)
WHOLE_FORM = "_form"  # a message about the form as a whole, shown above it


class FormErrors(InputRejected):
    """The form is sent back with these messages, keyed by field name (a page catches it; were
    one to escape, it is the 422 of any refused input)."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


def parsed(model: type[Model], data: Mapping[str, object]) -> Model:
    """``data`` as the API's model, or FormErrors with pydantic's message for each field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            location = [str(part) for part in error.get("loc", ()) if not isinstance(part, int)]
            field = location[0] if location else WHOLE_FORM
            errors.setdefault(field, error.get("msg", "not valid"))
        raise FormErrors(errors) from None


def refusal(exc: VaultError, phrases: Mapping[str, str]) -> FormErrors:
    """A service's refusal (the API's problem detail, word for word) beside the field whose
    phrase it mentions, or above the form when it names none."""
    text = str(exc)
    for phrase, field in phrases.items():
        if phrase in text:
            return FormErrors({field: text})
    return FormErrors({WHOLE_FORM: text})


def beside(exc: VaultError, field: str) -> FormErrors:
    """A service's refusal shown beside the one field the form has for it."""
    return FormErrors({field: str(exc)})
