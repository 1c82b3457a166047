"""SMS through the whole of Warta and real SMPP: the public API, the pipeline, the SMPP
channel on smpp34's client, and smpp34's server (``LocalSmsc``) on loopback, with its
receipts and a citizen's replies coming back the same way. This is the issue's "done
when": delivered by receipt, long and emoji texts whole, a dead provider failed over
without loss, BERHENTI honoured.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.harness import Harness, make_settings, running_warta
from warta.channels.smsc import LocalSmsc
from warta.domain.sms import encode_parts


@pytest.fixture
async def smsc() -> AsyncIterator[LocalSmsc]:
    server = LocalSmsc()
    await server.start()
    yield server
    await server.stop()


def smpp_url(server: LocalSmsc, name: str, **options: object) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"name": name, **options}.items())
    return f"smpp://warta:rahasia@{server.host}:{server.port}?{query}"


@pytest.fixture
async def harness(database_url: str, tmp_path: Path, smsc: LocalSmsc) -> AsyncIterator[Harness]:
    settings = make_settings(database_url, tmp_path, smpp_url=smpp_url(smsc, "operator"))
    async with running_warta(settings) as running:
        yield running


async def test_an_sms_reaches_the_smsc_and_its_receipt_makes_it_delivered(
    harness: Harness, smsc: LocalSmsc
) -> None:
    sent = (await harness.send_sms("0812-3456-7890")).json()
    row = await harness.wait_status(sent["id"], "delivered")
    assert row.provider == "operator"
    [message] = smsc.messages
    assert (message.to, message.sender) == ("+6281234567890", "DINASUJI")
    assert message.body == sent["content"]["body"] == "Halo Budi, antrean Anda nomor 7."
    assert [state for _, state in smsc.receipts] == ["DELIVRD"]
    got = (await harness.get(f"/v2/notifications/{sent['id']}")).json()
    assert got["status"] == "delivered" and got["completed_at"] is not None


async def test_a_long_indonesian_text_with_emoji_arrives_whole(
    harness: Harness, smsc: LocalSmsc
) -> None:
    name = "Ibu Sri Wahyuni 🙏 warga RT 05/RW 02 Kelurahan Cempaka Putih Timur, " * 3
    sent = (await harness.send_sms(personalisation={"nama": name, "nomor": "🎫 42"})).json()
    await harness.wait_status(sent["id"], "delivered")
    [message] = smsc.messages
    assert message.body == sent["content"]["body"]  # every part, joined in order
    assert "🙏" in message.body and "🎫 42" in message.body
    assert message.data_coding == 8  # UCS-2: GSM-7 has no emoji
    assert len(message.reference) == len(encode_parts(message.body, 0).parts) > 3
    # Delivered only once every part's receipt is in.
    assert len(smsc.receipts) == len(message.reference)


async def test_a_failed_receipt_makes_the_notification_fail(
    database_url: str, tmp_path: Path
) -> None:
    smsc = LocalSmsc(receipt_status={"+6281200000001": "UNDELIV"})
    await smsc.start()
    try:
        settings = make_settings(database_url, tmp_path, smpp_url=smpp_url(smsc, "operator"))
        async with running_warta(settings) as harness:
            sent = (await harness.send_sms("081200000001")).json()
            await harness.wait_status(sent["id"], "permanent-failure", "temporary-failure")
    finally:
        await smsc.stop()


async def test_berhenti_from_a_phone_stops_the_agencys_next_sms(
    harness: Harness, smsc: LocalSmsc
) -> None:
    await smsc.play_inbound("+6281234567890", "berhenti", recipient="DINASUJI")
    # Warta answers the keyword by SMS through the same SMSC.
    await smsc.outbox.wait_for(1)
    assert "tidak akan lagi menerima SMS" in smsc.messages[0].body
    texts = (await harness.get("/v2/received-text-messages")).json()["received_text_messages"]
    assert [(t["content"], t["user_number"]) for t in texts] == [("berhenti", "+6281234567890")]

    stopped = (await harness.send_sms("0812-3456-7890")).json()
    other = (await harness.send_sms("0812-3456-7891")).json()
    urgent = (await harness.send_sms("0812-3456-7890", priority="urgent")).json()
    await harness.wait_status(stopped["id"], "cancelled")
    await harness.wait_status(other["id"], "delivered")
    await harness.wait_status(urgent["id"], "delivered")  # emergencies still reach them
    assert [m.to for m in smsc.messages[1:]].count("+6281234567890") == 1

    await smsc.play_inbound("+6281234567890", "MULAI", recipient="DINASUJI")
    await smsc.outbox.wait_for(4)  # the MULAI reply
    assert "kembali menerima SMS" in smsc.messages[-1].body
    resumed = (await harness.send_sms("0812-3456-7890")).json()
    await harness.wait_status(resumed["id"], "delivered")


async def test_an_smsc_that_goes_down_loses_nothing_when_it_comes_back(
    harness: Harness, smsc: LocalSmsc
) -> None:
    await smsc.stop()
    ids = [(await harness.send_sms(f"08123456{i:04d}")).json()["id"] for i in range(5)]
    await asyncio.sleep(0.5)  # the pipeline retries meanwhile
    assert smsc.messages == []
    await smsc.start()
    for notification_id in ids:
        await harness.wait_status(notification_id, "delivered", timeout=20)
    assert sorted(m.to for m in smsc.messages) == [f"+628123456{i:04d}" for i in range(5)]


async def test_a_dead_provider_fails_over_to_the_other_without_loss(
    database_url: str, tmp_path: Path
) -> None:
    alive, dead = LocalSmsc(), LocalSmsc()
    await alive.start()
    await dead.start()
    await dead.stop()  # its port is known and closed: connections are refused
    urls = ",".join(
        [
            smpp_url(dead, "mati", bind_wait=0.3, connect_timeout=0.3),
            smpp_url(alive, "hidup"),
        ]
    )
    try:
        async with running_warta(make_settings(database_url, tmp_path, smpp_url=urls)) as h:
            phones = [f"+628129999{i:04d}" for i in range(12)]
            ids = [(await h.send_sms(p)).json()["id"] for p in phones]
            for notification_id in ids:
                row = await h.wait_status(notification_id, "delivered", timeout=20)
                assert row.provider == "hidup"
            # Each text exactly once: nothing lost, nothing sent twice.
            assert Counter(m.to for m in alive.messages) == Counter(phones)
    finally:
        await alive.stop()


async def test_traffic_moves_to_the_other_provider_when_one_dies_mid_run(
    database_url: str, tmp_path: Path
) -> None:
    first, second = LocalSmsc(), LocalSmsc()
    await first.start()
    await second.start()
    urls = ",".join(
        [smpp_url(first, "satu", bind_wait=0.3), smpp_url(second, "dua", bind_wait=0.3)]
    )
    try:
        async with running_warta(make_settings(database_url, tmp_path, smpp_url=urls)) as h:
            before = [(await h.send_sms(f"08127777{i:04d}")).json()["id"] for i in range(6)]
            for notification_id in before:
                await h.wait_status(notification_id, "delivered")
            await first.stop()
            after = [(await h.send_sms(f"08128888{i:04d}")).json()["id"] for i in range(6)]
            for notification_id in after:
                row = await h.wait_status(notification_id, "delivered", timeout=20)
                assert row.provider == "dua"
            received = Counter(m.to for m in [*first.messages, *second.messages])
            assert sorted(received) == sorted(
                [f"+628127777{i:04d}" for i in range(6)] + [f"+628128888{i:04d}" for i in range(6)]
            )
            assert set(received.values()) == {1}
    finally:
        await first.stop()
        await second.stop()


async def test_several_binds_deliver_each_sms_once_when_one_bind_drops(
    database_url: str, tmp_path: Path
) -> None:
    """binds=2: both binds carry submits; one is cut with its window full, its texts go
    again on the other (or once it is back), and every receipt settles its notification."""
    smsc = LocalSmsc()
    await smsc.start()
    url = smpp_url(smsc, "operator", binds=2, window=2, rebind_min=0.05, rebind_max=0.2)
    try:
        async with running_warta(make_settings(database_url, tmp_path, smpp_url=url)) as h:
            await smsc.wait_bound(2)
            smsc.hold()
            phones = [f"+628126666{i:04d}" for i in range(20)]
            ids = [(await h.send_sms(p)).json()["id"] for p in phones]
            # The harness runs 4 workers: 4 sends wait at once, 2 in each bind's window.
            await smsc.wait_held(4, timeout=10)
            await smsc.drop_connections(1)
            smsc.release()
            for notification_id in ids:
                await h.wait_status(notification_id, "delivered", timeout=20)
            assert Counter(m.to for m in smsc.messages) == Counter(phones)
            assert smsc.binds == 3  # the cut bind came back by itself
    finally:
        await smsc.stop()
