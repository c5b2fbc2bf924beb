"""Every text of the console has its Chinese translation: each message in the templates and
each value a template translates (event kinds, statuses, purposes, causes, flags), with the
same placeholders."""

from __future__ import annotations

import re
from enum import StrEnum

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from api.web.i18n import LOCALES
from api.web.render import TEMPLATES
from custody.access.models import Purpose, RequesterKind, RequestStatus
from custody.admin.log import SIGN_IN_ACTIONS
from custody.fixity.models import FixityStatus
from custody.log.kinds import EventKind
from ingest.gaps import GapCause
from retention.models import BatchStatus, Decision
from vault.models import CaseFlag, ItemStatus, Role, ScanStatus

TRANSLATED_VALUES: tuple[type[StrEnum], ...] = (
    EventKind, ItemStatus, ScanStatus, CaseFlag, Purpose, RequestStatus, RequesterKind,
    GapCause, FixityStatus, Role, BatchStatus, Decision,
)  # fmt: skip
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def test_every_console_text_has_its_chinese_translation() -> None:
    with open(LOCALES / "zh_CN" / "LC_MESSAGES" / "messages.po", "rb") as source:
        catalog = read_po(source, locale="zh_CN")
    translated = {m.id: m.string for m in catalog if m.id and m.string}
    options = {"**.html": {"extensions": "jinja2.ext.i18n"}}
    in_templates = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(
            TEMPLATES, method_map=[("**.html", "jinja2")], options_map=options
        )
    }
    assert len(in_templates) > 100
    values = {member.value for kind in TRANSLATED_VALUES for member in kind} | set(SIGN_IN_ACTIONS)
    missing = sorted((in_templates | values) - set(translated))
    assert missing == []
    for source_text, chinese in translated.items():
        assert isinstance(chinese, str)
        wanted = sorted(PLACEHOLDER.findall(str(source_text)))
        assert sorted(PLACEHOLDER.findall(chinese)) == wanted, source_text
