"""Prometheus metrics: hand-built Report values in, the text exposition format out,
read back with prometheus_client's own parser; and the atomic textfile write."""

from __future__ import annotations

import datetime
import os
import pathlib
import re
import stat
from typing import Any

import pytest
from prometheus_client import parser

from ukeytool.model import ModuleFailure, PinState, Problem, Report, Status
from ukeytool.rendering.prometheus import (
    FAMILIES,
    LABELS,
    escape_label_value,
    render_prometheus,
    write_textfile,
)

from .factories import sentence
from .test_check import (
    AT,
    DEVICE_ERROR,
    MODULE_PATH,
    PERSONAL_CN,
    SENTINEL,
    SENTINEL_MASKED,
    cert,
    days_entry,
    entry,
    in_days,
    one_token,
    personal_report,
    report,
    slot,
    token,
)

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

Samples = dict[str, list[tuple[dict[str, str], float]]]


def parse(text: str) -> Samples:
    """Every family by name, with its samples' labels and values; checks the basics."""
    out: Samples = {}
    for family in parser.text_string_to_metric_families(text):
        assert family.name not in out, f"family {family.name} appears twice"
        assert family.type == "gauge"
        assert family.documentation == FAMILIES[family.name]
        out[family.name] = []
        for sample in family.samples:
            assert sample.name == family.name
            assert sample.timestamp is None  # the textfile collector refuses timestamps
            out[family.name].append((dict(sample.labels), sample.value))
    return out


def full_report() -> Report:
    problem = Problem("C_GetSlotList", sentence("the slot list changed while it was read"))
    attribute = Problem(
        "CKA_PRIVATE", sentence("C_GetAttributeValue failed"), 0x12, "CKR_ATTRIBUTE_TYPE_INVALID"
    )
    return report(
        slot(
            1,
            token("工行U盾", serial="A1"),
            (
                days_entry("sign", 364, handle=1),
                days_entry("old", -3, ident=b"\x02", handle=2, problems=(attribute,)),
                entry(
                    "future", cert(not_before=in_days(10), not_after=in_days(400)), ident=b"\x03"
                ),
                entry(
                    "broken",
                    cert(None, issuer_cn=None, serial=None, error=sentence("bad DER")),
                    ident=b"\x04",
                ),
            ),
        ),
        slot(2, None, problems=(DEVICE_ERROR,)),
        slot(3, token("locked", serial="B2", pin_state=PinState.LOCKED)),
        slot(4, None, present=False),
        slot(5, token("partial", serial="C3"), (days_entry("p", 100),), complete=False),
        problems=(problem,),
    )


FAILURE = ModuleFailure(
    "/opt/gone/libgone.so",
    "ModuleCallFailed",
    sentence("C_Initialize failed"),
    0x6,
    "CKR_FUNCTION_FAILED",
)


def test_families_names_and_labels() -> None:
    text = render_prometheus([full_report()], failures=[FAILURE])
    samples = parse(text)
    assert list(samples) == list(FAMILIES)
    for family, rows in samples.items():
        assert family.startswith("ukeytool_")
        assert METRIC_NAME.fullmatch(family)
        assert not family.endswith("_total")  # gauges, not counters
        assert rows, f"{family} has no samples"
        for labels, _ in rows:
            assert tuple(labels) == LABELS[family]
            assert all(LABEL_NAME.fullmatch(name) and not name.startswith("__") for name in labels)
    assert text.endswith("\n")
    for line in text.splitlines():
        assert line.startswith("# HELP ") or line.startswith("# TYPE ") or METRIC_NAME.match(line)


def test_module_metrics() -> None:
    samples = parse(render_prometheus([full_report()], failures=[FAILURE]))
    assert samples["ukeytool_module_read_success"] == [
        ({"module": MODULE_PATH}, 1.0),
        ({"module": "/opt/gone/libgone.so"}, 0.0),
    ]
    assert samples["ukeytool_report_timestamp_seconds"] == [
        ({"module": MODULE_PATH}, AT.timestamp())
    ]
    (info,) = samples["ukeytool_module_info"]
    assert info[0]["library_version"] == "1.2"
    assert info[0]["cryptoki_version"] == "2.20"


def test_read_errors() -> None:
    rows = parse(render_prometheus([full_report()], failures=[FAILURE]))["ukeytool_read_errors"]
    assert rows == [
        ({"module": MODULE_PATH, "slot_id": "", "where": "C_GetSlotList", "code": ""}, 1.0),
        (
            {
                "module": MODULE_PATH,
                "slot_id": "0x1",
                "where": "CKA_PRIVATE",
                "code": "CKR_ATTRIBUTE_TYPE_INVALID",
            },
            1.0,
        ),
        (
            {
                "module": MODULE_PATH,
                "slot_id": "0x2",
                "where": "C_GetTokenInfo",
                "code": "CKR_DEVICE_ERROR",
            },
            1.0,
        ),
        ({"module": MODULE_PATH, "slot_id": "0x5", "where": "C_FindObjects", "code": ""}, 1.0),
        (
            {
                "module": "/opt/gone/libgone.so",
                "slot_id": "",
                "where": "ModuleCallFailed",
                "code": "CKR_FUNCTION_FAILED",
            },
            1.0,
        ),
    ]


def test_read_errors_are_counted() -> None:
    twice = report(slot(1, None, problems=(DEVICE_ERROR, DEVICE_ERROR)))
    rows = parse(render_prometheus([twice]))["ukeytool_read_errors"]
    assert [v for _, v in rows] == [2.0]


def test_token_metrics() -> None:
    samples = parse(render_prometheus([full_report()]))
    info = samples["ukeytool_token_info"]
    assert [(lab["token_label"], lab["token_serial"], lab["model"]) for lab, _ in info] == [
        ("工行U盾", "A1", "ePass3003"),
        ("locked", "B2", "ePass3003"),
        ("partial", "C3", "ePass3003"),
    ]
    pins = samples["ukeytool_token_pin_state"]
    for serial, current in (("A1", "ok"), ("B2", "locked"), ("C3", "ok")):
        rows = [(lab["state"], v) for lab, v in pins if lab["token_serial"] == serial]
        assert sorted(state for state, _ in rows) == sorted(p.value for p in PinState)
        assert [state for state, v in rows if v == 1] == [current]
        assert sum(v for _, v in rows) == 1
    counts = {lab["token_serial"]: v for lab, v in samples["ukeytool_token_certificates"]}
    assert counts == {"A1": 4.0, "B2": 0.0, "C3": 1.0}


def test_certificate_metrics() -> None:
    samples = parse(render_prometheus([full_report()]))
    not_after = {
        lab["cert_label"]: v
        for lab, v in samples["ukeytool_certificate_not_after_timestamp_seconds"]
    }
    assert not_after == {
        "sign": in_days(364).timestamp(),
        "old": in_days(-3).timestamp(),
        "future": in_days(400).timestamp(),
        "p": in_days(100).timestamp(),
    }
    not_before = {
        lab["cert_label"]: v
        for lab, v in samples["ukeytool_certificate_not_before_timestamp_seconds"]
    }
    assert not_before["future"] == in_days(10).timestamp()
    assert "broken" not in not_before
    expired = {lab["cert_label"]: v for lab, v in samples["ukeytool_certificate_expired"]}
    assert expired == {"sign": 0.0, "old": 1.0, "future": 0.0, "p": 0.0}
    status = samples["ukeytool_certificate_status"]
    current = {lab["cert_label"]: lab["status"] for lab, v in status if v == 1}
    assert current == {
        "sign": "valid",
        "old": "expired",
        "future": "not_yet_valid",
        "broken": "unreadable",
        "p": "valid",
    }
    for label in current:
        rows = [lab["status"] for lab, _ in status if lab["cert_label"] == label]
        assert sorted(rows) == sorted(s.value for s in Status)
    (sign, *_), *_ = samples["ukeytool_certificate_expired"]
    assert sign == {
        "module": MODULE_PATH,
        "token_serial": "A1",
        "token_label": "工行U盾",
        "cert_label": "sign",
        "cert_id": "01",
        "subject_cn": "Demo User",
        "issuer_cn": "Demo CA",
        "serial": "1a2b3c",
    }
    broken = next(lab for lab, _ in status if lab["cert_label"] == "broken")
    assert (broken["subject_cn"], broken["issuer_cn"], broken["serial"]) == ("", "", "")


def test_same_certificate_twice_is_written_once() -> None:
    twice = one_token(days_entry("sign", 100, handle=1), days_entry("sign", 100, handle=2))
    samples = parse(render_prometheus([twice]))
    assert len(samples["ukeytool_certificate_not_after_timestamp_seconds"]) == 1
    assert len(samples["ukeytool_certificate_status"]) == len(Status)
    assert samples["ukeytool_token_certificates"][0][1] == 2


def test_fractional_timestamps() -> None:
    moment = AT + datetime.timedelta(microseconds=250000)
    rows = parse(
        render_prometheus(
            [one_token(entry("x", cert(not_after=moment + datetime.timedelta(days=9))))]
        )
    )
    assert (
        rows["ukeytool_certificate_not_after_timestamp_seconds"][0][1]
        == moment.timestamp() + 9 * 86400
    )


def test_empty() -> None:
    text = render_prometheus([])
    samples = parse(text)
    assert list(samples) == list(FAMILIES)
    assert all(rows == [] for rows in samples.values())
    assert text.count("\n") == 2 * len(FAMILIES)


@pytest.mark.parametrize(
    "value",
    [
        'quote " inside',
        "back\\slash",
        "new\nline",
        'all \\" of\n them \\n',
        "trailing backslash\\",
        "中文 标签",
    ],
)
def test_label_escaping_round_trips(value: str) -> None:
    text = render_prometheus([one_token(days_entry(value, 100), label=value)])
    samples = parse(text)
    labels = samples["ukeytool_certificate_expired"][0][0]
    assert labels["cert_label"] == value
    assert labels["token_label"] == value
    # Every sample is one line.
    assert all(line.startswith(("#", "ukeytool_")) for line in text.splitlines())


def test_control_characters_become_text() -> None:
    evil = "bad\x1b[2J\x07\r\u202elabel"
    text = render_prometheus([one_token(days_entry(evil, 100))])
    for raw in ("\x1b", "\r", "\x07", "\u202e"):
        assert raw not in text
    labels = parse(text)["ukeytool_certificate_expired"][0][0]
    assert labels["cert_label"] == "bad\\x1b[2J\\x07\\r\\u202elabel"


def test_escape_label_value() -> None:
    assert escape_label_value('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
    assert escape_label_value("\ud800") == "\\\\ud800"  # a lone surrogate cannot be UTF-8


def test_personal_data_masked_by_default() -> None:
    text = render_prometheus(
        [personal_report()],
        failures=[ModuleFailure(f"/home/{SENTINEL}/x.so", "ModuleNotFound", sentence("gone"))],
    )
    assert SENTINEL not in text
    assert SENTINEL[:-1] not in text
    samples = parse(text)
    cns = {lab["subject_cn"] for lab, _ in samples["ukeytool_certificate_expired"]}
    assert cns == {f"051@张三@Z{SENTINEL_MASKED}@0001"}


def test_personal_data_shown_when_asked() -> None:
    text = render_prometheus([personal_report()], show_personal_data=True)
    samples = parse(text)
    assert {lab["subject_cn"] for lab, _ in samples["ukeytool_certificate_expired"]} == {
        PERSONAL_CN
    }
    assert SENTINEL in samples["ukeytool_token_info"][0][0]["token_label"]


def test_masking_keeps_serials() -> None:
    # Serial numbers are identities for alert rules: never masked, even when ID-shaped.
    rows = parse(render_prometheus([one_token(entry("x", cert(serial=SENTINEL)), serial=SENTINEL)]))
    (labels, _), *_ = rows["ukeytool_certificate_expired"]
    assert labels["serial"] == SENTINEL
    assert labels["token_serial"] == SENTINEL


# -- the textfile ----------------------------------------------------------------------


def test_write_textfile_new(tmp_path: pathlib.Path) -> None:
    target = tmp_path / "ukeytool.prom"
    text = render_prometheus([personal_report()])
    write_textfile(target, text)
    assert target.read_text(encoding="utf-8") == text
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert os.listdir(tmp_path) == ["ukeytool.prom"]


def test_write_textfile_replaces_and_keeps_mode(tmp_path: pathlib.Path) -> None:
    target = tmp_path / "ukeytool.prom"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o640)
    inode = target.stat().st_ino
    write_textfile(str(target), "new 中文\n")
    assert target.read_bytes() == "new 中文\n".encode()
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.stat().st_ino != inode  # renamed over, not written in place
    assert os.listdir(tmp_path) == ["ukeytool.prom"]


def test_write_textfile_failure_leaves_old_file_and_no_temporary(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "ukeytool.prom"
    target.write_text("old\n", encoding="utf-8")
    seen: list[str] = []

    def failing_replace(src: Any, dst: Any) -> None:
        seen.append(os.path.basename(src))
        assert (
            pathlib.Path(src).read_text(encoding="utf-8") == "new\n"
        )  # complete before the rename
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk on fire"):
        write_textfile(target, "new\n")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert os.listdir(tmp_path) == ["ukeytool.prom"]
    # The temporary file is hidden and does not match the collector's *.prom pattern.
    (name,) = seen
    assert name.startswith(".ukeytool.prom.")
    assert name.endswith(".tmp")


def test_write_textfile_missing_directory(tmp_path: pathlib.Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_textfile(tmp_path / "nope" / "x.prom", "x\n")
