"""Delivery receipts: the SMPP 3.4 Appendix B text and the TLVs (warta.domain.receipts)."""

from __future__ import annotations

import doctest

import pytest

from warta.domain import receipts
from warta.domain.receipts import DeliveryReport, parse_receipt


def receipt_text(stat: str, err: str = "000", text: str = "Halo Budi Santoso, j") -> str:
    return (
        "id:0123456789 sub:001 dlvrd:001 submit date:2506121030 done date:2506121031 "
        f"stat:{stat} err:{err} text:{text}"
    )


@pytest.mark.parametrize(
    ("stat", "status"),
    [
        pytest.param("DELIVRD", "delivered", id="delivered"),
        pytest.param("EXPIRED", "temporary-failure", id="expired-phone-off"),
        pytest.param("UNKNOWN", "temporary-failure", id="unknown"),
        pytest.param("UNDELIV", "permanent-failure", id="undeliverable"),
        pytest.param("REJECTD", "permanent-failure", id="rejected"),
        pytest.param("DELETED", "permanent-failure", id="deleted"),
        pytest.param("ENROUTE", None, id="enroute-not-final"),
        pytest.param("ACCEPTD", None, id="accepted-not-final"),
    ],
)
def test_text_states(stat: str, status: str | None) -> None:
    assert parse_receipt(receipt_text(stat)) == DeliveryReport(
        "0123456789", status, f"stat:{stat} err:000"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "ID:AbC12 SUB:001 DLVRD:000 SUBMIT DATE:2506121030 DONE DATE:2506121031 "
            "STAT:undeliv ERR:012 TEXT:x",
            DeliveryReport("AbC12", "permanent-failure", "stat:UNDELIV err:012"),
            id="upper-case-names-lower-case-state",
        ),
        pytest.param(
            "id:77 stat:DELIVRD",
            DeliveryReport("77", "delivered", "stat:DELIVRD"),
            id="only-id-and-stat",
        ),
        pytest.param(
            "stat:EXPIRED err:000 id:77",
            DeliveryReport("77", "temporary-failure", "stat:EXPIRED err:000"),
            id="other-order",
        ),
        pytest.param(
            "id:77  sub:001   dlvrd:001 submit_date:2506121030 done_date:2506121031 "
            "stat:DELIVRD err:000",
            DeliveryReport("77", "delivered", "stat:DELIVRD err:000"),
            id="extra-spaces-and-underscored-dates",
        ),
        pytest.param(
            "id:77 stat:UNDELIV err:001 text:stat:DELIVRD id:99",
            DeliveryReport("77", "permanent-failure", "stat:UNDELIV err:001"),
            id="message-text-that-looks-like-fields-is-ignored",
        ),
        pytest.param(
            "id:77 stat:DELIVERED",
            DeliveryReport("77", "delivered", "stat:DELIVRD"),
            id="long-spelling",
        ),
        pytest.param(
            "id:77 stat:REJECTED err:x-1!",
            DeliveryReport("77", "permanent-failure", "stat:REJECTD"),
            id="odd-error-code-left-out",
        ),
        pytest.param(
            "id:77 stat:FAILEDX",
            DeliveryReport("77", "temporary-failure", "stat:FAILEDX"),
            id="state-we-do-not-know-is-unknown",
        ),
        pytest.param(
            "id:77 stat:del!vrd",
            DeliveryReport("77", "temporary-failure", "stat:UNKNOWN"),
            id="garbled-state",
        ),
        pytest.param(
            "id:77 err:000",
            DeliveryReport("77", "temporary-failure", "stat:UNKNOWN err:000"),
            id="no-state",
        ),
        pytest.param(
            "id: stat:DELIVRD",
            ValueError,
            id="empty-id",
        ),
    ],
)
def test_text_is_read_leniently(text: str, expected: DeliveryReport | type[Exception]) -> None:
    if isinstance(expected, DeliveryReport):
        assert parse_receipt(text) == expected
    else:
        with pytest.raises(expected, match="no message id"):
            parse_receipt(text)


@pytest.mark.parametrize(
    ("state", "status", "name"),
    [
        pytest.param(1, None, "ENROUTE", id="1-enroute"),
        pytest.param(2, "delivered", "DELIVRD", id="2-delivered"),
        pytest.param(3, "temporary-failure", "EXPIRED", id="3-expired"),
        pytest.param(4, "permanent-failure", "DELETED", id="4-deleted"),
        pytest.param(5, "permanent-failure", "UNDELIV", id="5-undeliverable"),
        pytest.param(6, None, "ACCEPTD", id="6-accepted"),
        pytest.param(7, "temporary-failure", "UNKNOWN", id="7-unknown"),
        pytest.param(8, "permanent-failure", "REJECTD", id="8-rejected"),
    ],
)
def test_tlv_states(state: int, status: str | None, name: str) -> None:
    report = parse_receipt("", receipted_message_id="ab12\x00", message_state=state)
    assert report == DeliveryReport("ab12", status, f"stat:{name}")


@pytest.mark.parametrize(
    ("text", "tlv_id", "tlv_state", "expected"),
    [
        pytest.param(
            receipt_text("DELIVRD"),
            "tlv-id",
            5,
            DeliveryReport("tlv-id", "permanent-failure", "stat:UNDELIV err:000"),
            id="tlvs-win-over-text",
        ),
        pytest.param(
            receipt_text("UNDELIV", err="001"),
            None,
            2,
            DeliveryReport("0123456789", "delivered", "stat:DELIVRD err:001"),
            id="state-tlv-with-text-id",
        ),
        pytest.param(
            receipt_text("EXPIRED"),
            "tlv-id",
            None,
            DeliveryReport("tlv-id", "temporary-failure", "stat:EXPIRED err:000"),
            id="id-tlv-with-text-state",
        ),
        pytest.param(
            receipt_text("DELIVRD"),
            None,
            99,
            DeliveryReport("0123456789", "delivered", "stat:DELIVRD err:000"),
            id="unknown-state-number-falls-back-to-text",
        ),
        pytest.param(
            receipt_text("DELIVRD"),
            "\x00",
            None,
            DeliveryReport("0123456789", "delivered", "stat:DELIVRD err:000"),
            id="empty-id-tlv-falls-back-to-text",
        ),
    ],
)
def test_tlvs_take_precedence(
    text: str, tlv_id: str | None, tlv_state: int | None, expected: DeliveryReport
) -> None:
    assert parse_receipt(text, receipted_message_id=tlv_id, message_state=tlv_state) == expected


def test_no_message_id_anywhere_is_refused() -> None:
    with pytest.raises(ValueError, match="delivery receipt has no message id"):
        parse_receipt("stat:DELIVRD err:000", message_state=2)


def test_detail_never_holds_the_message_text() -> None:
    report = parse_receipt(receipt_text("UNDELIV", text="Budi +6281234567890"))
    assert "Budi" not in report.detail
    assert "6281234567890" not in report.detail


def test_docstring_examples() -> None:
    assert doctest.testmod(receipts).failed == 0
