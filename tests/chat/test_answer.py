"""Answer sentences, follow-ups, safe upload names, rendering and export: real text, no search server."""

from __future__ import annotations

import io
from pathlib import Path

from fpdf import FPDF
from PIL import Image

from chat.export import Turn, conversation_markdown
from chat.followup import contextual_query
from chat.render import reply
from chat.upload import add_documents, place, safe_name, summary
from core import ChunkingOptions
from index import AnswerSentence, Hit, Index, SearchResult, sentence_spans

PASSAGE = ("Dresden richtete 2010 ein Bildungsbüro ein, z. B. mit einer Stabsstelle. Die Bildungsberatung "
           "wurde an 3. Stelle genannt.\nÜberschrift ohne Punkt\nDie Beratung der Eltern erfolgt in Stadtteilen.")


def hit(rank: int, text: str, source: str = "a.md") -> Hit:
    return Hit(rank=rank, score=1.0 / rank, chunk_id=rank, source=source, title=f"Titel {rank}", page=None,
               page_end=None, text=text, heading="")


def test_sentences_are_exact_substrings_and_respect_abbreviations():
    sentences = [PASSAGE[span.start:span.end] for span in sentence_spans(PASSAGE)]
    assert sentences[0] == "Dresden richtete 2010 ein Bildungsbüro ein, z. B. mit einer Stabsstelle."
    assert "Die Bildungsberatung wurde an 3. Stelle genannt." in sentences
    assert "Überschrift ohne Punkt" in sentences


def quoted(hit: Hit, number: int) -> AnswerSentence:
    span = sentence_spans(hit.text)[number]
    return AnswerSentence(hit.text[span.start:span.end], hit.rank, span)


def test_reply_escapes_documents_and_links_markers_to_cards():
    text = "Der Code <script>alert(1)</script> der Bildungsberatung steht hier als Text."
    passage = hit(1, text)
    html = reply(SearchResult("Bildungsberatung", [passage], [quoted(passage, 0)]), turn=3)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="#beleg-3-1"' in html and 'id="beleg-3-1"' in html
    assert "nichts gefunden" in reply(SearchResult("Brot", []))


def test_reply_names_the_documents_above_the_cards_and_hides_withheld_passages():
    hits = [Hit(rank, 1.0, rank, f"{name}.md", f"Titel {name}", None, None, PASSAGE, "", {"kommune": name})
            for rank, name in enumerate(["Dresden", "Leipzig", "Dresden"], start=1)]
    html = reply(SearchResult("Bildungsberatung", hits, [quoted(hits[0], 0)]), turn=2)
    assert ('<a class="lvo-origin" href="#beleg-2-1">Dresden</a> · 2 Stellen, '
            '<a class="lvo-origin" href="#beleg-2-2">Leipzig</a> · 1 Stelle') in html
    assert html.index("lvo-sources") < html.index('class="lvo-card"')
    silent = reply(SearchResult("Wer wurde 2014 Fußball-Weltmeister?", [], withheld=hits))
    assert "nichts gefunden" in silent and "<details" in silent and "Trotzdem ähnlichste Stellen zeigen" in silent
    assert "nichts gefunden" in silent and "<details" not in reply(SearchResult("Brot", []))


def test_reply_and_export_say_what_the_passages_lack_instead_of_quoting():
    note = "Eine Angabe zu den Kosten enthalten die gefundenen Stellen nicht."
    passage = hit(1, PASSAGE)
    html = reply(SearchResult("Was kostet ein Bildungsbüro?", [passage], [], note=note))
    assert f'<div class="lvo-answer lvo-note">{note}</div>' in html
    assert "lvo-sentence" not in html and 'class="lvo-card"' in html
    markdown = conversation_markdown([Turn("Was kostet ein Bildungsbüro?", "Was kostet ein Bildungsbüro?", [],
                                           [passage], note=note)])
    assert f"**Antwort:** {note}" in markdown


def test_follow_up_replaces_the_commune():
    names = ["Dresden", "Leipzig"]
    previous = "Wie hat Dresden die Bildungsberatung organisiert?"
    assert contextual_query("Und in Leipzig?", previous, names) == "Wie hat Leipzig die Bildungsberatung organisiert?"
    assert contextual_query("Und die Finanzierung?", previous, names).endswith("– Finanzierung")
    assert contextual_query("Welche Ziele hatte Erfurt?", previous, names) == "Welche Ziele hatte Erfurt?"


def test_upload_names_are_sanitized_and_never_overwrite(tmp_path: Path):
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("..\\Bericht 2013;rm -rf.PDF") == "Bericht 2013_rm -rf.pdf"
    assert safe_name(".versteckt.md") == "versteckt.md"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "bericht.txt").write_text("alt", encoding="utf-8")
    upload = tmp_path / "bericht.txt"
    upload.write_text("neu", encoding="utf-8")
    target, problem = place(upload, corpus, "bericht.txt")
    assert problem is None and target.name == "bericht-2.txt"
    assert (corpus / "bericht.txt").read_text(encoding="utf-8") == "alt"
    assert place(upload, corpus, "bericht.txt") == (None, "bericht.txt: ist bereits als bericht-2.txt im Korpus.")


def test_export_keeps_answers_and_citations():
    passage = hit(1, PASSAGE, source="dresden.md")
    answer = [quoted(passage, 1)]
    markdown = conversation_markdown([Turn("Und in Dresden?", "Bildungsberatung Dresden", answer, [passage]),
                                      Turn("Wie backe ich Brot?", "Wie backe ich Brot?")])
    assert "## Frage 1: Und in Dresden?" in markdown and "Gesucht wurde: „Bildungsberatung Dresden“" in markdown
    assert f"{answer[0].text} [1]" in markdown and "**[1] Titel 1** – `dresden.md`" in markdown
    assert "## Frage 2: Wie backe ich Brot?\n\nDazu habe ich in den Dokumenten nichts gefunden." in markdown


def test_upload_summary_names_pages_that_could_not_be_read(tmp_path: Path, minilm_embedder):
    corpus, upload = tmp_path / "corpus", tmp_path / "scan-mit-briefmarke.pdf"
    corpus.mkdir()
    pdf = FPDF(unit="pt")
    pdf.add_page(format="A4")
    pdf.set_font("helvetica", size=11)
    pdf.multi_cell(0, 14, "Der Bildungsbericht des Kreises erschien im Herbst 2012.")
    stamp = io.BytesIO()
    Image.new("L", (1, 1), 0).save(stamp, format="PNG")
    pdf.add_page(format=(1, 1))
    pdf.image(stamp, x=0, y=0, w=1, h=1)
    pdf.output(str(upload))
    Index.open(tmp_path / "index", minilm_embedder, create=True).close()

    report = add_documents([upload], corpus, tmp_path / "index", minilm_embedder, ChunkingOptions())
    assert report.added == ["scan-mit-briefmarke.pdf"]
    assert "- `scan-mit-briefmarke.pdf`, S. 2: Seite ist zu klein für die Texterkennung (4×4 Pixel)" in summary(report)
