"""The chatbot's message understanding (services/chatbot/nlu): its rules, its held-out
targets (issue 17) and its model file."""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from warta.domain.chat_text import Entities
from warta.services.chatbot import nlu


@pytest.fixture(scope="module")
def rows() -> list[nlu.Utterance]:
    return nlu.read_utterances()


@pytest.fixture(scope="module")
def model(rows: list[nlu.Utterance]) -> nlu.Model:
    """Trained on the train split only, once for this module."""
    return nlu.fit(r for r in rows if r.split == "train")


@pytest.fixture(scope="module")
def heldout(model: nlu.Model, rows: list[nlu.Utterance]) -> nlu.Evaluation:
    return nlu.evaluate(model, [r for r in rows if r.split == "heldout"])


def test_the_data_is_as_the_issue_asks(rows: list[nlu.Utterance]) -> None:
    intents = Counter(r.intent for r in rows)
    assert len(rows) >= 400
    assert set(intents) == set(nlu.INTENTS)
    assert min(intents.values()) >= 25, intents
    assert {r.style for r in rows} == {"formal", "informal", "typo", "english", "oos"}
    share = sum(r.split == "heldout" for r in rows) / len(rows)
    assert 0.2 <= share <= 0.3
    assert all(r.intent == "tidak_dikenal" for r in rows if r.style == "oos")
    texts = [r.text.casefold() for r in rows]
    assert len(texts) == len(set(texts)), "a row is repeated (maybe across splits)"


def test_heldout_accuracy_meets_the_target(heldout: nlu.Evaluation) -> None:
    assert heldout.accuracy >= 0.92, heldout.mistakes


def test_every_intent_meets_its_target(heldout: nlu.Evaluation) -> None:
    assert set(heldout.per_intent) == set(nlu.INTENTS)
    low = {intent: r for intent, r in heldout.per_intent.items() if r < 0.85}
    assert not low, low


def test_out_of_scope_is_answered_tidak_dikenal(heldout: nlu.Evaluation) -> None:
    assert heldout.oos >= 0.90


@pytest.mark.parametrize(
    ("text", "intent", "language"),
    [
        ("BERHENTI", "berhenti", "id"),
        (" stop! ", "berhenti", "en"),
        ("Berhenti semua.", "berhenti", "id"),
        ("MULAI", "mulai", "id"),
        ("start", "mulai", "en"),
        ("BANTUAN", "bantuan", "id"),
        ("KTM5-GSQT", "cek_status", None),
        ("ktm5gsqt", "cek_status", None),
        ("dong", "tidak_dikenal", None),
        ("", "tidak_dikenal", None),
    ],
)
def test_rules_are_certain(model: nlu.Model, text: str, intent: str, language: str | None) -> None:
    understood = model.understand(text)
    assert (understood.intent, understood.confidence, understood.language) == (
        intent,
        1.0,
        language,
    )


def test_a_tracking_id_alone_is_a_status_question_and_its_entity(model: nlu.Model) -> None:
    assert model.understand("KTM5 GSQT").entities == Entities(tracking_id="KTM5GSQT")


def test_a_stop_word_inside_a_sentence_is_not_the_keyword(model: nlu.Model) -> None:
    understood = model.understand("stop kirim tagihan ke ibu saya")
    assert understood.confidence < 1.0


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("min laporan sy KTM5GSQT udh sampe mana", "cek_status"),
        ("mau lapor jalan rusak depan rumah", "buat_pengaduan"),
        ("ganti ke wa aja jangan sms", "ubah_preferensi"),
        ("I want to talk to a human", "hubungi_petugas"),
        ("makasih banyak min", "terima_kasih"),
        ("siapa presiden indonesia", "tidak_dikenal"),
    ],
)
def test_everyday_messages(model: nlu.Model, text: str, intent: str) -> None:
    assert model.understand(text).intent == intent


def test_entities_and_language_come_with_the_intent(model: nlu.Model) -> None:
    understood = model.understand("please send on telegram, not after 9pm")
    assert understood.language == "en"
    assert understood.entities == Entities(channels=("telegram",), times=("21:00",))


def test_below_the_threshold_the_answer_is_tidak_dikenal(model: nlu.Model) -> None:
    strict = replace(model, threshold=1.01)  # nothing the model says is sure enough
    understood = strict.understand("mau lapor jalan rusak")
    assert understood.intent == "tidak_dikenal" and 0.0 <= understood.confidence < 1.0
    assert strict.understand("BERHENTI").intent == "berhenti"  # rules stay certain


def test_load_or_train_trains_once_and_again_when_the_data_changes(tmp_path: Path) -> None:
    data = tmp_path / "utterances.tsv"
    shutil.copy(nlu.DATA_PATH, data)
    model = nlu.load_or_train(tmp_path, data_path=data)
    path = tmp_path / "chatbot" / nlu.MODEL_FILE
    written = path.stat().st_mtime_ns
    assert model.understand("BERHENTI").intent == "berhenti"

    again = nlu.load_or_train(tmp_path, data_path=data)
    assert path.stat().st_mtime_ns == written  # loaded, not retrained
    assert again.understand("mau lapor jalan rusak").intent == "buat_pengaduan"

    with data.open("a", encoding="utf-8") as handle:
        handle.write("lapor jalan berlubang lagi\tbuat_pengaduan\ttrain\tinformal\n")
    later = time.time() + 5
    os.utime(data, (later, later))
    nlu.load_or_train(tmp_path, data_path=data)
    assert path.stat().st_mtime_ns != written


def test_a_damaged_model_file_is_retrained(tmp_path: Path) -> None:
    path = tmp_path / "chatbot" / nlu.MODEL_FILE
    path.parent.mkdir()
    path.write_bytes(b"not a model")
    model = nlu.load_or_train(tmp_path)
    assert model.understand("MULAI").intent == "mulai"
    assert path.stat().st_size > 1000


def test_bad_data_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "bad.tsv"
    data.write_text("text\tintent\tsplit\tstyle\nhalo\tsapa\ttrain\tinformal\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.tsv:2"):
        nlu.read_utterances(data)
