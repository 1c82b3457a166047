"""Understanding a citizen's chat message: which intent, how sure, and what it names.

``Model.understand(text)`` answers an ``Understood``:

1. Rules first, where they are certain (confidence 1.0): a message that is only an SMS
   keyword (``warta.domain.keywords``: BERHENTI/STOP -> ``berhenti``, MULAI/START ->
   ``mulai``, BANTUAN/INFO/HELP -> ``bantuan``), and a message that is only a tracking id
   ("KTM5-GSQT") -> ``cek_status``. A message with nothing left to read once normalised
   ("!!!", "dong") is ``tidak_dikenal``.
2. Otherwise the classifier: the text normalised by ``warta.domain.chat_text`` (slang,
   repeated letters, tracking ids as one word), TF-IDF of word 1-2-grams over the
   PySastrawi stems ("melaporkan", "laporan" -> "lapor"; words after a negator marked)
   joined with TF-IDF of character
   2-5-grams within words (which carry typos: "laporn", "pengaduann"), into a linear SVM
   whose scores are turned into probabilities by sigmoid calibration on cross-validation
   folds (``CalibratedClassifierCV``).
3. Below ``THRESHOLD`` the answer is ``tidak_dikenal``: the bot says it did not
   understand and shows the menu rather than guess.

The model is trained from the labelled utterances packaged with Warta
(``data/utterances.tsv``: text, intent, split, style) by ``make chatbot-model`` or, when
the model file is missing, older than the data or built by another scikit-learn, by
``load_or_train`` at first use. Nothing is downloaded. The file is a joblib pickle under
``var_dir/chatbot``: Warta's own file, written by Warta, never one from elsewhere.
``bench/chatbot_eval.py`` trains on the train split and measures the held-out split.
"""

from __future__ import annotations

import csv
import hashlib
import os
import tempfile
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from warta.domain import chat_text, keywords
from warta.domain.chat_text import Entities, Language

# scikit-learn and joblib are imported where a model is trained or loaded: importing them
# costs an API process seconds at start, and most processes never see a chat message.
if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

Intent = Literal[
    "cek_status", "buat_pengaduan", "berhenti", "mulai", "ubah_preferensi", "bantuan",
    "faq", "hubungi_petugas", "salam", "terima_kasih", "tidak_dikenal",
]  # fmt: skip
INTENTS: Final[tuple[Intent, ...]] = (
    "cek_status", "buat_pengaduan", "berhenti", "mulai", "ubah_preferensi", "bantuan",
    "faq", "hubungi_petugas", "salam", "terima_kasih", "tidak_dikenal",
)  # fmt: skip
UNKNOWN: Final[Intent] = "tidak_dikenal"

#: The lowest calibrated probability at which the model's best intent is believed; below
#: it the answer is ``tidak_dikenal``. Chosen on the train split's cross-validation (never
#: the held-out split): lower lets out-of-scope chatter through as ``faq``, higher turns
#: short real requests ("menu dong") into misunderstandings.
THRESHOLD: Final = 0.40
#: Bumped when the features or the classifier change, so an old model file is retrained.
MODEL_VERSION: Final = 1
#: The packaged labelled utterances.
DATA_PATH: Final = Path(__file__).parent / "data" / "utterances.tsv"
MODEL_FILE: Final = "model.joblib"

_KEYWORD_INTENTS: Final[dict[keywords.Action, Intent]] = {
    "stop": "berhenti",
    "start": "mulai",
    "help": "bantuan",
}


@dataclass(frozen=True, slots=True)
class Understood:
    """What a message means. ``confidence`` is the probability of ``intent``; for a
    ``tidak_dikenal`` below the threshold it is how unsure the model was (1 - its best
    probability). ``language`` is the language it is written in, None when it gives no
    evidence ("ok", an id alone): keep the conversation's. ``intent`` is one of
    ``INTENTS`` (a plain ``str``, so an intent read back from a tapped option fits)."""

    intent: str
    confidence: float
    entities: Entities
    language: Language | None


@dataclass(frozen=True, slots=True)
class Utterance:
    """One labelled row of ``utterances.tsv``."""

    text: str
    intent: Intent
    split: Literal["train", "heldout"]
    style: Literal["formal", "informal", "typo", "english", "oos"]


def read_utterances(path: Path = DATA_PATH) -> list[Utterance]:
    """The rows of a labelled TSV file, checked: a bad intent, split or style is a bug in
    the data, raised as ``ValueError`` with its line."""
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(
            csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE), start=2
        ):
            if row["intent"] not in INTENTS or row["split"] not in ("train", "heldout"):
                raise ValueError(f"{path.name}:{line}: bad intent or split {row!r}")
            if row["style"] not in ("formal", "informal", "typo", "english", "oos"):
                raise ValueError(f"{path.name}:{line}: bad style {row['style']!r}")
            rows.append(Utterance(row["text"], row["intent"], row["split"], row["style"]))  # type: ignore[arg-type]
    return rows


# Features ------------------------------------------------------------------------------


@cache
def _stemmer() -> Any:
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return StemmerFactory().create_stemmer()


@lru_cache(maxsize=50_000)
def _stem(word: str) -> str:
    if len(word) <= 3 or not word.isalpha():
        return word
    return str(_stemmer().stem(word)) or word


#: Words after which the next ones are marked negated ("tidak mau terima pesan lagi" is
#: ``berhenti``, "mau terima pesan lagi" is ``mulai``).
_NEGATORS: Final = frozenset({"tidak", "jangan", "not", "no", "stop", "henti", "tolak", "batal"})
_NEGATED_WORDS: Final = 3


def stems(normalised: str) -> str:
    """Normalised text with each word stemmed, and the three words after a negator marked:
    "jangan kirim pesan lagi" -> "jangan negkirim negpesan neglagi". A vectorizer's
    preprocessor, so it is pickled by name with the model."""
    words, negated = [], 0
    for word in normalised.split():
        stem = _stem(word)
        words.append(f"neg{stem}" if negated else stem)
        negated = _NEGATED_WORDS if stem in _NEGATORS else max(negated - 1, 0)
    return " ".join(words)


def _pipeline() -> Pipeline:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.svm import LinearSVC

    words = TfidfVectorizer(
        preprocessor=stems, ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"\S+"
    )
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
    svm = LinearSVC(C=1.0, class_weight="balanced")
    return Pipeline(
        [
            ("features", FeatureUnion([("words", words), ("chars", chars)])),
            ("classify", CalibratedClassifierCV(svm, method="sigmoid", cv=5, ensemble=False)),
        ]
    )


# The model -----------------------------------------------------------------------------


@dataclass
class Model:
    """A trained classifier and the rules around it."""

    pipeline: Pipeline
    threshold: float = THRESHOLD
    #: What it was trained from: a digest of the data file, the version, scikit-learn's.
    trained_from: dict[str, str] = field(default_factory=dict)

    def understand(self, text: str) -> Understood:
        entities, language = chat_text.extract(text), chat_text.detect_language(text)
        keyword = keywords.parse(text)
        if keyword is not None:
            return Understood(_KEYWORD_INTENTS[keyword.action], 1.0, entities, keyword.language)
        normalised = chat_text.normalise(text)
        if normalised == chat_text.TRACKING_WORD and entities.tracking_id is not None:
            return Understood("cek_status", 1.0, entities, language)
        if not normalised:
            return Understood(UNKNOWN, 1.0, entities, language)
        intent, probability = self.classify(normalised)
        if probability < self.threshold:
            return Understood(UNKNOWN, round(1.0 - probability, 4), entities, language)
        return Understood(intent, round(probability, 4), entities, language)

    def classify(self, normalised: str) -> tuple[Intent, float]:
        """The model's best intent for normalised text and its probability, no rules."""
        probabilities = self.pipeline.predict_proba([normalised])[0]
        best = int(probabilities.argmax())
        return str(self.pipeline.classes_[best]), float(probabilities[best])  # type: ignore[return-value]

    def save(self, path: Path) -> None:
        """Written whole or not at all: another process may be loading it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        import joblib

        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        os.close(handle)
        try:
            joblib.dump({"pipeline": self.pipeline, **self.trained_from}, temporary)
            os.replace(temporary, path)
        finally:
            Path(temporary).unlink(missing_ok=True)


def fit(rows: Iterable[Utterance]) -> Model:
    """A model trained on ``rows`` (all of them: choose the split before)."""
    chosen = list(rows)
    pipeline = _pipeline()
    pipeline.fit([chat_text.normalise(r.text) for r in chosen], [r.intent for r in chosen])
    return Model(pipeline)


def _fingerprint(data_path: Path) -> dict[str, str]:
    import sklearn

    return {
        "data_sha256": hashlib.sha256(data_path.read_bytes()).hexdigest(),
        "model_version": str(MODEL_VERSION),
        "sklearn": sklearn.__version__,
    }


def train(
    data_path: Path = DATA_PATH,
    out_path: Path | None = None,
    *,
    splits: Sequence[str] = ("train", "heldout"),
) -> Model:
    """Train on the rows of ``splits`` of ``data_path`` (by default every row: the model a
    deployment runs learns from all the data; the evaluation trains on "train" only) and
    save it to ``out_path`` when given."""
    model = fit(r for r in read_utterances(data_path) if r.split in splits)
    model.trained_from = _fingerprint(data_path)
    if out_path is not None:
        model.save(out_path)
    return model


def _load(path: Path, data_path: Path) -> Model | None:
    """The model in ``path`` if it is there, newer than the data and built from this very
    data by this code and this scikit-learn; else None (to retrain)."""
    try:
        if path.stat().st_mtime < data_path.stat().st_mtime:
            return None
        import joblib

        with warnings.catch_warnings():
            warnings.simplefilter("error")  # scikit-learn's InconsistentVersionWarning
            saved = joblib.load(path)
    except Exception:  # missing, unreadable, or pickled by another version: retrain
        return None
    trained_from = {k: saved.get(k, "") for k in ("data_sha256", "model_version", "sklearn")}
    if trained_from != _fingerprint(data_path):
        return None
    return Model(saved["pipeline"], THRESHOLD, trained_from)


def load_or_train(var_dir: Path, *, data_path: Path = DATA_PATH) -> Model:
    """The model in ``var_dir/chatbot``, trained from the packaged data first when it is
    missing or stale (a second or two)."""
    path = Path(var_dir) / "chatbot" / MODEL_FILE
    return _load(path, data_path) or train(data_path, path)


# Evaluation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """How a model did on labelled rows. ``per_intent`` is each intent's recall (the share
    of its rows answered with it); ``oos`` the share of out-of-scope rows answered
    ``tidak_dikenal``; ``confusion[(expected, answered)]`` counts."""

    total: int
    accuracy: float
    per_intent: dict[str, float]
    macro_f1: float
    oos: float
    confusion: Counter[tuple[str, str]]
    mistakes: list[tuple[Utterance, Understood]]


def evaluate(model: Model, rows: Sequence[Utterance]) -> Evaluation:
    from sklearn.metrics import f1_score

    answers = [model.understand(r.text) for r in rows]
    expected, answered = [r.intent for r in rows], [a.intent for a in answers]
    confusion: Counter[tuple[str, str]] = Counter(zip(expected, answered, strict=True))
    per_intent: dict[str, float] = {}
    for intent in INTENTS:
        total = expected.count(intent)
        if total:
            per_intent[intent] = confusion[(intent, intent)] / total
    oos = [a.intent == UNKNOWN for r, a in zip(rows, answers, strict=True) if r.style == "oos"]
    labels = sorted(set(expected))
    return Evaluation(
        total=len(rows),
        accuracy=sum(e == a for e, a in zip(expected, answered, strict=True)) / len(rows),
        per_intent=per_intent,
        macro_f1=float(f1_score(expected, answered, labels=labels, average="macro")),
        oos=sum(oos) / len(oos) if oos else 1.0,
        confusion=confusion,
        mistakes=[(r, a) for r, a in zip(rows, answers, strict=True) if r.intent != a.intent],
    )
