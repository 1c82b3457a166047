"""How well the chatbot understands messages it was not trained on.

    .venv/bin/python bench/chatbot_eval.py [--calls 2000] [--mistakes]

Trains the NLU model (``warta.services.chatbot.nlu``) on the ``train`` rows of the
packaged labelled utterances and evaluates on the ``heldout`` rows, through the whole
``Model.understand`` (rules, classifier, threshold, entities, language), as the engine
calls it. Prints accuracy overall and per intent (recall), macro-F1, the confusion table
(rows: expected, columns: answered), the share of out-of-scope rows answered
``tidak_dikenal``, and the p95 latency of one ``understand`` call over ``--calls`` calls
(the held-out texts in turn, after a warm-up), each with its ratio to the issue's target.

Targets (issue 17): accuracy >= 0.92, every intent >= 0.85, out-of-scope answered
``tidak_dikenal`` >= 0.90, p95 <= 20 ms. Exit status 1 when one is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from warta.services.chatbot import nlu

TARGETS = {"accuracy": 0.92, "intent": 0.85, "oos": 0.90, "p95_ms": 20.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="understand() calls timed")
    parser.add_argument("--mistakes", action="store_true", help="list held-out mistakes")
    args = parser.parse_args()

    rows = nlu.read_utterances()
    train = [r for r in rows if r.split == "train"]
    heldout = [r for r in rows if r.split == "heldout"]
    started = time.perf_counter()
    model = nlu.fit(train)
    trained_s = time.perf_counter() - started
    result = nlu.evaluate(model, heldout)

    print(f"utterances: {len(rows)} ({len(train)} train, {len(heldout)} held out)")
    print(f"trained in {trained_s:.2f} s; threshold {model.threshold}")
    print(f"\n{'intent':<16} {'n':>3} {'recall':>7} {'ratio':>6}")
    for intent, recall in result.per_intent.items():
        n = sum(r.intent == intent for r in heldout)
        print(f"{intent:<16} {n:>3} {recall:>7.3f} {recall / TARGETS['intent']:>6.2f}")

    intents = list(result.per_intent)
    short = [i[:5] for i in intents]
    print("\nconfusion (rows expected, columns answered):")
    print(" " * 16 + " ".join(f"{s:>5}" for s in short))
    for expected in intents:
        cells = [result.confusion[(expected, answered)] for answered in intents]
        print(f"{expected:<16}" + " ".join(f"{c or '.':>5}" for c in cells))

    if args.mistakes:
        print("\nmistakes:")
        for row, answer in result.mistakes:
            print(f"  {row.intent:>15} -> {answer.intent:<15} {answer.confidence:.2f}  {row.text}")

    texts = [r.text for r in heldout]
    for text in texts:  # warm the stemmer's cache and the allocator
        model.understand(text)
    timings = []
    for i in range(args.calls):
        began = time.perf_counter()
        model.understand(texts[i % len(texts)])
        timings.append((time.perf_counter() - began) * 1000)
    p95 = statistics.quantiles(timings, n=100)[94]

    worst = min(result.per_intent.values())
    checks = [
        ("accuracy", result.accuracy, TARGETS["accuracy"], result.accuracy >= TARGETS["accuracy"]),
        ("lowest intent", worst, TARGETS["intent"], worst >= TARGETS["intent"]),
        ("oos -> tidak_dikenal", result.oos, TARGETS["oos"], result.oos >= TARGETS["oos"]),
    ]
    print(f"\nmacro-F1 {result.macro_f1:.3f}")
    print(f"{'measure':<22} {'value':>8} {'target':>8} {'ratio':>6}")
    for name, value, target, _ in checks:
        print(f"{name:<22} {value:>8.3f} {target:>8.2f} {value / target:>6.2f}")
    print(
        f"{'p95 latency (ms)':<22} {p95:>8.2f} {TARGETS['p95_ms']:>8.1f} "
        f"{TARGETS['p95_ms'] / p95:>6.2f}  (target / value; {args.calls} calls, "
        f"median {statistics.median(timings):.2f} ms)"
    )
    met = all(ok for *_, ok in checks) and p95 <= TARGETS["p95_ms"]
    print("\nall targets met" if met else "\nTARGETS MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
