"""Normalising chat messages, the entities in them and their language (domain/chat_text)."""

from __future__ import annotations

import pytest

from warta.domain.chat_text import Entities, detect_language, extract, normalise, slang

# KTM5GSQT and U6YFKL9U are valid tracking ids (their check characters match).


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Min, gmn cara cek laporan yg udh dikirim dong??",
            "admin bagaimana cara cek laporan yang sudah dikirim",
        ),
        ("TOLONGGG", "tolong"),
        ("maaaaf", "maaf"),
        ("tungggu", "tunggu"),
        ("halooo min", "halo admin"),
        ("hati2 ya", "hati hati ya"),
        ("sy blm terima, gak ada sms", "saya belum terima tidak ada sms"),
        ("Café résumé", "cafe resume"),
        ("cek KTM5-GSQT", "cek kodelacak"),
        ("cek ktm5 gsqt", "cek kodelacak"),
        ("KTM5GSQT", "kodelacak"),
        ("cek K7QM-2H9D", "cek k7qm 2h9d"),  # check character wrong: not an id
        ("mana saja", "mana saja"),  # two 4-letter words are never an id without a digit
        ("makasih bgt", "terima kasih sekali"),
        ("thx, pls stop", "thanks please stop"),
        ("dong sih deh", ""),
        ("ya", "ya"),  # kept: the engine reads it as yes
        ("", ""),
        ("!!! ???", ""),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 24 else None,
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_the_slang_list_is_loaded_and_drops_particles() -> None:
    table = slang()
    assert table["gmn"] == "bagaimana" and table["udh"] == "sudah" and table["blm"] == "belum"
    assert table["sy"] == "saya" and table["min"] == "admin" and table["gak"] == "tidak"
    assert table["dong"] == "" and table["aja"] == "saja"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status KTM5GSQT", Entities(tracking_id="KTM5GSQT")),
        ("status ktm5-gsqt dong", Entities(tracking_id="KTM5GSQT")),
        ("kode U6YF KL9U", Entities(tracking_id="U6YFKL9U")),
        ("kode K7QM-2H9D", Entities()),
        ("kirim lewat WA saja, jangan sms", Entities(channels=("whatsapp", "sms"))),
        ("pakai surel", Entities(channels=("email",))),
        ("ke telegram atau tele", Entities(channels=("telegram",))),
        ("lewat aplikasi aja", Entities(channels=("push",))),
        ("push notification", Entities(channels=("push",))),
        ("jangan kirim di atas jam 9 malam", Entities(times=("21:00",))),
        ("jam 7 pagi", Entities(times=("07:00",))),
        ("jam 3 sore", Entities(times=("15:00",))),
        ("jam 1 siang", Entities(times=("13:00",))),
        ("jam 12 malam", Entities(times=("00:00",))),
        ("jam 2 malam", Entities(times=("02:00",))),
        ("dari 22.00 sampai 06:30", Entities(times=("22:00", "06:30"))),
        ("after 9pm", Entities(times=("21:00",))),
        ("at 7:30 am", Entities(times=("07:30",))),
        ("pukul 25.00", Entities(number=None)),
        ("tanggal 12.12.2026", Entities()),
        ("ganti ke bahasa inggris", Entities(language="en")),
        ("in English please", Entities(language="en")),
        ("pakai bahasa indonesia", Entities(language="id")),
        ("balas 2", Entities(number=2)),
        ("maksimal tiga pesan", Entities(number=3)),
        ("jam 9 malam, paling banyak 2", Entities(times=("21:00",), number=2)),
        ("halo", Entities()),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_extract(text: str, expected: Entities) -> None:
    assert extract(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gmn cara cek laporan sy", "id"),
        ("Saya ingin berhenti menerima pesan", "id"),
        ("makasih min", "id"),
        ("How do I check my report?", "en"),
        ("please stop sending me messages", "en"),
        ("thanks a lot", "en"),
        ("ok", None),
        ("KTM5GSQT", None),
        ("", None),
    ],
)
def test_detect_language(text: str, expected: str | None) -> None:
    assert detect_language(text) == expected
