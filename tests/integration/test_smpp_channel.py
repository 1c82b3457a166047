"""SmppChannel against LocalSmsc over real loopback SMPP 3.4 sessions (smpp34 on both ends).

No mocks: every submit_sm, deliver_sm and receipt crosses a socket on 127.0.0.1. The SMSC's
test controls (throttle, reject_next, hold/release, drop_connections, stop/start,
play_inbound) make it misbehave the way real ones do.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from warta.channels.providers import parse_provider
from warta.channels.sms_smpp import SmppChannel
from warta.channels.smsc import LocalSmsc
from warta.domain.channels import InboundSms, OutboundMessage, Receipt, SendResult
from warta.domain.sms import fragment_count
from warta.errors import (
    PermanentFailure,
    ProviderUnavailable,
    TechnicalFailure,
    TemporaryFailure,
)
from warta.store.outbox import Outbox

NUMBER = "+6281234567890"
DIGITS = NUMBER.removeprefix("+")
TEXT = "Halo Budi, jadwal vaksinasi Anda Kamis 12 Juni pukul 09.00 di Puskesmas Cempaka Putih."
LONG_TEXT = (
    "Pengingat dari Dinas Kesehatan DKI Jakarta: jadwal vaksinasi booster Anda adalah hari "
    "Kamis, 12 Juni pukul 09.00 WIB di Puskesmas Kecamatan Cempaka Putih, Jalan Rawasari "
    "Selatan No. 1. Bawa KTP, kartu vaksin dan masker. Datang 15 menit lebih awal untuk "
    "pendaftaran. Jika berhalangan, balas BATAL agar kuota dapat diberikan kepada warga lain. "
    "Layanan ini gratis. Terima kasih."
)[:400]
EMOJI_TEXT = "Terima kasih sudah divaksin 💉🙏 Semoga sehat selalu, Bu Siti! Salam dari Puskesmas."
FAST = {"rebind_min": "0.05", "rebind_max": "0.2", "throttle_delay": "0.01", "bind_wait": "3"}


class CollectingEvents:
    """A ProviderEvents that keeps what it is given, and can be told to fail once."""

    def __init__(self) -> None:
        self.receipts: list[Receipt] = []
        self.inbound_messages: list[InboundSms] = []
        self.fail_next_receipt = False
        self.returned: set[str] = set()  # message ids whose send() had returned on arrival
        self._changed = asyncio.Event()

    async def receipt(self, receipt: Receipt) -> None:
        if self.fail_next_receipt:
            self.fail_next_receipt = False
            raise RuntimeError(f"database down while storing a receipt for {NUMBER}")
        self.receipts.append(receipt)
        self._wake()

    async def inbound(self, message: InboundSms) -> None:
        self.inbound_messages.append(message)
        self._wake()

    async def wait(self, ready: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not ready():
                changed = self._changed
                await changed.wait()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()


def sms(
    body: str = TEXT, *, to: str = NUMBER, sender: str = "DINKES", n: int = 1
) -> OutboundMessage:
    return OutboundMessage(
        notification_id=f"notif-{n}", attempt=1, channel="sms", to=to, sender=sender, body=body
    )


@pytest.fixture
async def smsc() -> AsyncIterator[LocalSmsc]:
    async with LocalSmsc(Outbox()) as server:
        yield server


@pytest.fixture
def events() -> CollectingEvents:
    return CollectingEvents()


ChannelFactory = Callable[..., Awaitable[SmppChannel]]


@pytest.fixture
async def connect(events: CollectingEvents) -> AsyncIterator[ChannelFactory]:
    """Make a started channel to an SMSC (``url=`` for another address); closed after."""
    channels: list[SmppChannel] = []

    async def make(smsc: LocalSmsc | None = None, *, url: str = "", **options: str) -> SmppChannel:
        if smsc is not None:
            url = smsc.url(name="local", **(FAST | options))
        channel = SmppChannel.from_config(parse_provider(url), events)
        channels.append(channel)
        await channel.start()
        return channel

    yield make
    for channel in channels:
        await channel.aclose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


# -- sending ------------------------------------------------------------------------------


async def test_a_text_arrives_and_its_delivered_receipt_comes_back(
    smsc: LocalSmsc, connect: ChannelFactory, events: CollectingEvents
) -> None:
    channel = await connect(smsc)

    result = await channel.send(sms())

    assert result == SendResult(
        status="sending", provider_reference=result.parts[0], provider="local", parts=result.parts
    )
    assert len(result.parts) == 1
    [message] = smsc.messages
    assert (message.to, message.sender, message.body) == (NUMBER, "DINKES", TEXT)
    assert message.reference == result.parts
    [part] = smsc.parts
    assert (part.source_addr_ton, part.source_addr_npi) == (5, 0)  # alphanumeric sender id
    assert (part.destination_addr, part.dest_addr_ton, part.dest_addr_npi) == (DIGITS, 1, 1)
    assert (part.esm_class, part.data_coding, part.registered_delivery) == (0, 0, 1)
    await events.wait(lambda: len(events.receipts) == 1)
    assert events.receipts == [
        Receipt("local", result.parts[0], "delivered", "stat:DELIVRD err:000")
    ]


async def test_receipt_as_tlvs(connect: ChannelFactory, events: CollectingEvents) -> None:
    async with LocalSmsc(receipt_form="tlv") as smsc:
        channel = await connect(smsc)
        result = await channel.send(sms())
        await events.wait(lambda: len(events.receipts) == 1)
    assert events.receipts == [Receipt("local", result.parts[0], "delivered", "stat:DELIVRD")]


@pytest.mark.parametrize(
    ("state", "status"),
    [
        pytest.param("UNDELIV", "permanent-failure", id="undeliverable"),
        pytest.param("EXPIRED", "temporary-failure", id="expired"),
        pytest.param("REJECTD", "permanent-failure", id="rejected"),
    ],
)
@pytest.mark.parametrize("form", ["text", "tlv"])
async def test_failure_receipts(
    connect: ChannelFactory, events: CollectingEvents, state: str, status: str, form: Any
) -> None:
    async with LocalSmsc(receipt_status={NUMBER: state}, receipt_form=form) as smsc:
        channel = await connect(smsc)
        failed = await channel.send(sms())
        fine = await channel.send(sms(to="+6281311112222", n=2))
        await events.wait(lambda: len(events.receipts) == 2)
    by_reference = {r.reference: r.status for r in events.receipts}
    assert by_reference == {failed.parts[0]: status, fine.parts[0]: "delivered"}


async def test_a_400_character_text_goes_as_three_joined_parts(
    smsc: LocalSmsc, connect: ChannelFactory, events: CollectingEvents
) -> None:
    channel = await connect(smsc)

    result = await channel.send(sms(LONG_TEXT))

    assert len(result.parts) == 3 == len(set(result.parts))
    assert [p.message_id for p in smsc.parts] == list(result.parts)
    assert {p.esm_class for p in smsc.parts} == {0x40}
    assert {p.concat.reference for p in smsc.parts if p.concat} == {smsc.parts[0].short_message[3]}
    assert [p.concat.sequence for p in smsc.parts if p.concat] == [1, 2, 3]
    [message] = smsc.messages
    assert message.body == LONG_TEXT
    assert message.data_coding == 0
    await events.wait(lambda: len(events.receipts) == 3)
    assert {r.reference for r in events.receipts} == set(result.parts)
    assert {r.status for r in events.receipts} == {"delivered"}


async def test_indonesian_text_with_emoji_goes_as_ucs2(
    smsc: LocalSmsc, connect: ChannelFactory
) -> None:
    channel = await connect(smsc)
    text = EMOJI_TEXT * 2  # 170 characters: three UCS-2 parts

    result = await channel.send(sms(text))

    assert len(result.parts) == fragment_count(text) == 3
    [message] = smsc.messages
    assert message.body == text
    assert message.data_coding == 8
    assert {p.data_coding for p in smsc.parts} == {8}


async def test_numeric_sender_is_international(smsc: LocalSmsc, connect: ChannelFactory) -> None:
    channel = await connect(smsc)
    await channel.send(sms(sender="+62215550100"))
    [part] = smsc.parts
    assert (part.source_addr, part.source_addr_ton, part.source_addr_npi) == ("62215550100", 1, 1)


async def test_source_addr_option_replaces_the_sender(
    smsc: LocalSmsc, connect: ChannelFactory
) -> None:
    channel = await connect(smsc, source_addr="WARTA")
    await channel.send(sms(sender="DINKES"))
    assert smsc.messages[0].sender == "WARTA"


# -- the SMSC says no ---------------------------------------------------------------------


async def test_throttled_three_times_still_sends_once(
    smsc: LocalSmsc, connect: ChannelFactory
) -> None:
    channel = await connect(smsc)
    smsc.throttle(3)

    result = await channel.send(sms())

    assert [m.body for m in smsc.messages] == [TEXT]
    assert result.parts == smsc.messages[0].reference


async def test_throttled_beyond_the_retries_is_a_temporary_failure(
    smsc: LocalSmsc, connect: ChannelFactory
) -> None:
    channel = await connect(smsc, throttle_retries="2")
    smsc.throttle(3)

    with pytest.raises(TemporaryFailure) as raised:
        await channel.send(sms())

    assert str(raised.value) == (
        "SMPP provider local still answers ESME_RTHROTTLED (0x00000058) after 2 retries"
    )
    assert smsc.messages == []


@pytest.mark.parametrize(
    ("status", "error", "name"),
    [
        pytest.param(0x0B, PermanentFailure, "ESME_RINVDSTADR (0x0000000B)", id="bad-number"),
        pytest.param(0x50, PermanentFailure, "ESME_RINVDSTTON (0x00000050)", id="bad-dest-ton"),
        pytest.param(0x0A, TechnicalFailure, "ESME_RINVSRCADR (0x0000000A)", id="bad-sender"),
        pytest.param(0x45, TechnicalFailure, "ESME_RSUBMITFAIL (0x00000045)", id="submit-fail"),
        pytest.param(0x08, ProviderUnavailable, "ESME_RSYSERR (0x00000008)", id="smsc-error"),
        pytest.param(0x14, TemporaryFailure, "ESME_RMSGQFUL (0x00000014)", id="queue-full"),
    ],
)
async def test_refusals_are_translated(
    smsc: LocalSmsc, connect: ChannelFactory, status: int, error: type[Exception], name: str
) -> None:
    channel = await connect(smsc, throttle_retries="1")
    smsc.reject_next(2, status)

    with pytest.raises(error) as raised:
        await channel.send(sms())

    assert type(raised.value) is error
    assert name in str(raised.value)
    assert DIGITS not in str(raised.value) and "Budi" not in str(raised.value)


async def test_a_refused_second_part_fails_the_send(
    smsc: LocalSmsc, connect: ChannelFactory
) -> None:
    channel = await connect(smsc)
    await channel.send(sms())  # one part through
    smsc.reject_next(1, 0x0B)
    with pytest.raises(PermanentFailure):
        await channel.send(sms(LONG_TEXT))
    assert [m.body for m in smsc.messages] == [TEXT]


# -- connections --------------------------------------------------------------------------


async def test_dropped_mid_window_every_text_arrives_exactly_once(
    smsc: LocalSmsc, connect: ChannelFactory, events: CollectingEvents
) -> None:
    channel = await connect(smsc, window="10")
    smsc.hold()
    texts = [f"Pesan nomor {n}: jadwal vaksinasi Anda sudah terdaftar." for n in range(20)]
    sends = asyncio.gather(*(channel.send(sms(t, n=n)) for n, t in enumerate(texts)))
    await smsc.wait_held(10)  # the window is full
    smsc.release(5)  # five are acknowledged...
    await smsc.wait_held(10)  # ...and five more fill the window again
    await smsc.drop_connections()  # the ten unanswered ones are lost with the connection

    results = await asyncio.wait_for(sends, timeout=10)

    assert Counter(m.body for m in smsc.messages) == Counter(texts)
    assert smsc.binds == 2  # the channel bound again by itself
    assert channel.bound
    assert sorted(p for r in results for p in r.parts) == sorted(
        p for m in smsc.messages for p in m.reference
    )
    await events.wait(
        lambda: {r.reference for r in events.receipts} >= {p.message_id for p in smsc.parts}
    )


async def test_a_send_waits_for_the_smsc_to_come_back(
    smsc: LocalSmsc, connect: ChannelFactory
) -> None:
    channel = await connect(smsc)
    await smsc.stop()
    await eventually(lambda: not channel.bound)
    sending = asyncio.ensure_future(channel.send(sms()))
    await asyncio.sleep(0.3)
    assert not sending.done()

    await smsc.start()  # same port
    result = await asyncio.wait_for(sending, timeout=5)

    assert [m.body for m in smsc.messages] == [TEXT]
    assert result.parts == smsc.messages[0].reference


async def test_smsc_down_is_provider_unavailable_in_bounded_time(
    connect: ChannelFactory,
) -> None:
    url = f"smpp://warta:pw@127.0.0.1:{free_port()}?name=down&rebind_min=0.05&bind_wait=0.5"
    channel = await connect(url=url)  # start() returns: the channel keeps trying
    assert not channel.bound
    started = time.monotonic()

    with pytest.raises(ProviderUnavailable) as raised:
        await channel.send(sms())

    assert time.monotonic() - started < 2
    assert str(raised.value) == "SMPP provider down is not bound (waited 0.5s for a bind)"


async def test_close_fails_waiting_sends_as_retryable(connect: ChannelFactory) -> None:
    url = f"smpp://warta:pw@127.0.0.1:{free_port()}?name=down&bind_wait=30"
    channel = await connect(url=url)
    sending = asyncio.ensure_future(channel.send(sms()))
    await asyncio.sleep(0.1)

    await asyncio.wait_for(channel.aclose(), timeout=3)

    with pytest.raises(ProviderUnavailable, match="channel is closed"):
        await sending
    with pytest.raises(ProviderUnavailable, match="channel is closed"):
        await channel.send(sms())


async def test_window_caps_unanswered_submits(smsc: LocalSmsc, connect: ChannelFactory) -> None:
    channel = await connect(smsc, window="2")
    smsc.hold()
    sends = asyncio.gather(*(channel.send(sms(f"{TEXT} {n}", n=n)) for n in range(5)))
    await smsc.wait_held(2)
    await asyncio.sleep(0.2)
    assert smsc.held == 2

    smsc.release()

    assert len(await asyncio.wait_for(sends, timeout=5)) == 5
    assert len(smsc.messages) == 5


async def test_a_hung_smsc_costs_a_send_no_more_than_bind_wait_for_a_window_place(
    smsc: LocalSmsc, connect: ChannelFactory
) -> None:
    """A hung SMSC (connected, answering nothing) holds a full window for smpp34's 30 s;
    a send finding no place within ``bind_wait`` is ``ProviderUnavailable``, so the router
    tries the next provider then, not 30 s per window's worth later (tests/e2e/test_outages)."""
    channel = await connect(smsc, window="2", bind_wait="0.5")
    smsc.hold()
    hung = [asyncio.create_task(channel.send(sms(n=n))) for n in range(2)]
    await smsc.wait_held(2)
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable, match="place in its window"):
        await asyncio.wait_for(channel.send(sms(n=3)), timeout=5)
    assert time.monotonic() - started < 2
    assert smsc.held == 2  # it never reached the SMSC: nothing to send twice
    smsc.release()
    await asyncio.wait_for(asyncio.gather(*hung), timeout=5)


async def test_tps_spaces_submits(smsc: LocalSmsc, connect: ChannelFactory) -> None:
    channel = await connect(smsc, tps="20")
    started = time.monotonic()
    await asyncio.gather(*(channel.send(sms(n=n)) for n in range(5)))
    assert time.monotonic() - started >= 0.18  # four gaps of 1/20 s
    assert len(smsc.messages) == 5


# -- what the SMSC sends on its own -------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("YA", id="short"),
        pytest.param("Saya akan datang hari Kamis. " * 12, id="long-gsm7"),
        pytest.param(("Terima kasih banyak 🙏 saya sudah divaksin kemarin. " * 5), id="long-ucs2"),
    ],
)
async def test_replies_arrive_whole_without_any_send(
    smsc: LocalSmsc, connect: ChannelFactory, events: CollectingEvents, text: str
) -> None:
    await connect(smsc)  # start() binds: no send needed for replies to flow

    await smsc.play_inbound(NUMBER, text, recipient="99876")

    await events.wait(lambda: len(events.inbound_messages) == 1)
    assert events.inbound_messages == [InboundSms("local", DIGITS, "99876", text)]


async def test_a_receipt_before_the_submit_response_is_not_lost(
    connect: ChannelFactory, events: CollectingEvents
) -> None:
    async with LocalSmsc(receipt_first=True) as smsc:
        channel = await connect(smsc)
        sending = asyncio.ensure_future(channel.send(sms()))
        await events.wait(lambda: len(events.receipts) == 1)
        receipt_came_first = not sending.done()
        result = await sending
    assert receipt_came_first
    assert events.receipts == [
        Receipt("local", result.parts[0], "delivered", "stat:DELIVRD err:000")
    ]


async def test_a_failing_event_handler_does_not_stop_the_reader(
    smsc: LocalSmsc,
    connect: ChannelFactory,
    events: CollectingEvents,
    caplog: pytest.LogCaptureFixture,
) -> None:
    channel = await connect(smsc)
    events.fail_next_receipt = True
    caplog.set_level(logging.INFO)

    await channel.send(sms())
    second = await channel.send(sms(n=2))
    await smsc.play_inbound(NUMBER, "YA")

    await events.wait(lambda: len(events.receipts) == 1 and len(events.inbound_messages) == 1)
    assert events.receipts[0].reference == second.parts[0]
    assert "could not hand on a deliver_sm (RuntimeError)" in caplog.text
    assert DIGITS not in caplog.text and "Budi" not in caplog.text


# -- several binds ------------------------------------------------------------------------


async def test_binds_each_have_a_window_and_share_the_sends(
    smsc: LocalSmsc, connect: ChannelFactory, events: CollectingEvents
) -> None:
    """binds=3, window=2: six submits wait unanswered at once, which one bind could not
    hold; the receipts, which the SMSC sends all on one bind, settle every part."""
    channel = await connect(smsc, binds="3", window="2")
    await smsc.wait_bound(3)
    smsc.hold()
    texts = [f"Pesan nomor {n}: jadwal vaksinasi Anda sudah terdaftar." for n in range(12)]
    sends = asyncio.gather(*(channel.send(sms(t, n=n)) for n, t in enumerate(texts)))
    await smsc.wait_held(6)
    await asyncio.sleep(0.2)
    assert smsc.held == 6  # three windows of two, no more

    smsc.release()
    results = await asyncio.wait_for(sends, timeout=10)

    assert Counter(m.body for m in smsc.messages) == Counter(texts)
    assert smsc.binds == 3
    parts = {p for r in results for p in r.parts}
    await events.wait(lambda: {r.reference for r in events.receipts} >= parts)
    assert len(events.receipts) == len(parts) == 12


async def test_one_bind_dropped_mid_window_loses_nothing(
    smsc: LocalSmsc, connect: ChannelFactory, events: CollectingEvents
) -> None:
    channel = await connect(smsc, binds="2", window="5")
    await smsc.wait_bound(2)
    smsc.hold()
    texts = [f"Pesan nomor {n}: jadwal vaksinasi Anda sudah terdaftar." for n in range(30)]
    sends = asyncio.gather(*(channel.send(sms(t, n=n)) for n, t in enumerate(texts)))
    await smsc.wait_held(10)  # both windows are full
    smsc.release(4)  # four are acknowledged...
    await smsc.wait_held(10)  # ...and four more fill the windows again
    await smsc.drop_connections(1)  # one bind's unanswered submits are lost with it
    assert channel.bound  # the other carries on meanwhile

    smsc.release()
    results = await asyncio.wait_for(sends, timeout=10)

    assert Counter(m.body for m in smsc.messages) == Counter(texts)  # each exactly once
    await smsc.wait_bound(2)  # the dropped one bound again by itself
    assert smsc.binds == 3
    parts = {p for r in results for p in r.parts}
    assert parts == {p for m in smsc.messages for p in m.reference}
    await events.wait(lambda: {r.reference for r in events.receipts} >= parts)
