"""How a checked answer is shown: markers link to cards, unsupported sentences are marked, model text is escaped."""

from __future__ import annotations

from chat.render import generated_html, streaming_html
from generate import CheckedSentence, GeneratedAnswer


def answer(*sentences: CheckedSentence) -> GeneratedAnswer:
    return GeneratedAnswer(" ".join(s.text for s in sentences), list(sentences), "testmodell")


SUPPORTED = CheckedSentence("Die Verantwortung lag bei der Oberbürgermeisterin [2].", [2], True, "gestützt von [2]")
INVENTED = CheckedSentence("Dresden erhielt <b>5 Mio.</b> Euro [4].", [4], False,
                           "zitiert [4], das nicht unter den Belegstellen ist")


def test_supported_and_unsupported_sentences_are_told_apart():
    html = generated_html(answer(SUPPORTED, INVENTED), turn=3, ranks={1, 2, 3})
    assert '<span class="lvo-gen-sentence lvo-supported" title="gestützt von [2]">' in html
    assert '<a class="lvo-ref" href="#beleg-3-2" data-rank="2">[2]</a>' in html
    assert 'class="lvo-gen-sentence lvo-unsupported"' in html
    assert '<span class="lvo-unbelegt">nicht belegt</span>' in html
    assert '<span class="lvo-ref-missing" title="keine gezeigte Belegstelle">[4]</span>' in html
    assert "&lt;b&gt;5 Mio.&lt;/b&gt;" in html and "<b>" not in html


def test_hidden_unsupported_sentences_leave_a_note():
    html = generated_html(answer(SUPPORTED, INVENTED), turn=1, ranks={1, 2}, hide_unsupported=True)
    assert "lvo-unsupported" not in html and "Dresden erhielt" not in html
    assert "1 nicht belegte(r) Satz/Sätze ausgelassen." in html


def test_the_streaming_text_is_escaped_and_says_it_is_unchecked():
    html = streaming_html("Erster Satz [1]. <script>alert(1)</script>", turn=2, ranks={1})
    assert "Das Sprachmodell formuliert …" in html
    assert '<a class="lvo-ref" href="#beleg-2-1" data-rank="1">[1]</a>' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
