"""Text recognition (OCR) of scanned PDF pages: rendered with PDFium, read by Tesseract in German.

Tesseract runs as a child process per page (the `tesseract` binary of Debian's tesseract-ocr), so two pages
are read in parallel on two cores, each with a time limit, and a hanging page can be killed. The binary is
called directly rather than through pytesseract because only that lets us give the child its own
environment (OMP_THREAD_LIMIT=1) without throttling the OpenMP threads of our own process (torch).
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache

PageProgress = Callable[[int, int], None]  # (pages done, pages to recognise)

MIN_TEXT_CHARS = 20  # fewer non-space characters beside an image: a scan with a stray text object
MIN_SIDE_PIXELS = 32  # smaller renderings hold no readable line of text
MAX_PAGE_PIXELS = 40_000_000  # about A2 at 300 dpi; larger pages are rendered at a lower resolution
BLANK_LEVEL = 200  # a rendering whose darkest pixel is lighter than this holds no ink
MIN_CONFIDENCE = 45  # mean word confidence below which Tesseract was reading a photo, not text
INSTALL_HINT = "sudo apt-get install tesseract-ocr tesseract-ocr-deu"


@dataclass(frozen=True)
class OcrOptions:
    language: str = "deu"
    dpi: int = 300
    page_seconds: float = 120.0  # per-page time limit; the page is named and skipped beyond it
    workers: int = 2


@dataclass
class ScanReading:
    """What OCR made of a PDF's scanned pages (0-based page indexes)."""

    texts: dict[int, str] = field(default_factory=dict)  # recognised text per page (non-empty)
    notes: list[str] = field(default_factory=list)  # one German line per page that could not be read
    unavailable: str = ""  # why Tesseract could not run ('' when it could or was not needed)
    scanned: list[int] = field(default_factory=list)  # pages without a usable text layer


@dataclass(frozen=True)
class _PageResult:
    text: str = ""
    problem: str = ""


def unavailable_reason(language: str = OcrOptions.language) -> str:
    """Why Tesseract cannot read `language` here ('' when it can); looked up once per process and PATH."""
    return _unavailable_reason(shutil.which("tesseract") or "", language)


@lru_cache(maxsize=8)
def _unavailable_reason(binary: str, language: str) -> str:
    if not binary:
        return f"Tesseract ist nicht installiert ({INSTALL_HINT})"
    try:
        listed = subprocess.run([binary, "--list-langs"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"Tesseract startet nicht ({type(error).__name__})"
    installed = set(listed.stdout.split())
    missing = [code for code in language.split("+") if code not in installed]
    if missing:
        return f"Sprachdaten {'+'.join(missing)} für Tesseract fehlen ({INSTALL_HINT})"
    return ""


def page_list(numbers: list[int]) -> str:
    """'S. 2, 5–7' for 1-based page numbers."""
    ranges: list[list[int]] = []
    for number in sorted(numbers):
        if ranges and number == ranges[-1][1] + 1:
            ranges[-1][1] = number
        else:
            ranges.append([number, number])
    return "S. " + ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in ranges)


def read_scans(data: bytes, layer_texts: list[str], options: OcrOptions = OcrOptions(),
               progress: PageProgress | None = None) -> ScanReading:
    """Find the pages without a usable text layer and read them with Tesseract.

    `layer_texts` are the pages' extracted text layers. Pages that cannot be rendered or read are named
    in `notes`; every other page of the document is unaffected.
    """
    import pypdfium2 as pdfium

    candidates = [i for i, text in enumerate(layer_texts) if len("".join(text.split())) < MIN_TEXT_CHARS]
    if not candidates:
        return ScanReading()
    try:
        document = pdfium.PdfDocument(data)
    except Exception as error:  # pypdf could read the file, PDFium cannot: the text layers stay
        return ScanReading(notes=[f"Texterkennung: PDF kann nicht gerendert werden ({type(error).__name__})"])
    try:
        reading = ScanReading(scanned=[i for i in candidates if _is_scanned(document, i, layer_texts[i])])
        if reading.scanned:
            reading.unavailable = unavailable_reason(options.language)
            if not reading.unavailable:
                _recognise(document, reading, options, progress or (lambda done, total: None))
        return reading
    finally:
        document.close()


def _is_scanned(document, index: int, layer_text: str) -> bool:
    """No text at all but something drawn, or only a few characters beside an image."""
    import pypdfium2.raw as pdfium_c

    try:
        page = document[index]
        try:
            kinds = {item.type for item in page.get_objects()}
        finally:
            page.close()
    except Exception:  # PDFium cannot list the page's objects: let the rendering step name the problem
        return True
    if not layer_text.strip():
        return bool(kinds - {pdfium_c.FPDF_PAGEOBJ_TEXT})
    return pdfium_c.FPDF_PAGEOBJ_IMAGE in kinds


def _recognise(document, reading: ScanReading, options: OcrOptions, progress: PageProgress) -> None:
    """Render pages one at a time and read them in parallel; at most `workers + 1` renderings are held."""
    total, done = len(reading.scanned), 0
    progress(done, total)
    pending: deque[tuple[int, str, Future[_PageResult]]] = deque()
    with ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="ocr") as pool:
        for index in reading.scanned:
            pending.append((index, *_submit(pool, document, index, options)))
            while len(pending) > options.workers or (pending and index == reading.scanned[-1]):
                _collect(reading, *pending.popleft())
                done += 1
                progress(done, total)


def _collect(reading: ScanReading, index: int, damage: str, future: Future[_PageResult]) -> None:
    try:
        result = future.result()
    except Exception as error:  # an unforeseen failure on one page must not cost the others
        result = _PageResult(problem=f"Seite kann nicht gelesen werden ({type(error).__name__})")
    if result.text:
        reading.texts[index] = result.text
    if damage:
        read = "gelesen, was lesbar war" if result.text else "kein Text erkannt"
        reading.notes.append(f"S. {index + 1}: Bild ist beschädigt ({damage}) – {read}")
    elif result.problem:
        reading.notes.append(f"S. {index + 1}: {result.problem}")


def _submit(pool: ThreadPoolExecutor, document, index: int,
            options: OcrOptions) -> tuple[str, Future[_PageResult]]:
    """Check and render the page here (PDFium is not thread-safe), hand the image to a Tesseract worker."""
    try:
        page = document[index]
        try:
            damage = _damaged_image(page)
            image, problem = _render(page, options.dpi)
        finally:
            page.close()
    except Exception as error:  # PDFium raises several types for pages it cannot load
        damage, image, problem = "", None, f"Seite kann nicht gelesen werden ({type(error).__name__})"
    if image is None:
        done: Future[_PageResult] = Future()
        done.set_result(_PageResult(problem=problem))
        return damage, done
    return damage, pool.submit(_read_page, image, options)


def _damaged_image(page) -> str:
    """The filter of the first image on the page whose data cannot be decoded ('' when all can).

    PDFium draws a broken JPEG as far as it gets without complaint; decoding it here names the damage.
    """
    import pypdfium2.raw as pdfium_c
    from PIL import Image

    for item in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]):
        filters = item.get_filters()
        try:
            data = bytes(item.get_data(decode_simple=True))
            if filters and filters[-1] in ("DCTDecode", "JPXDecode"):
                with Image.open(io.BytesIO(data)) as picture:
                    picture.load()
        except Exception:  # PIL and PDFium report broken data with many exception types
            return filters[-1] if filters else "Bilddaten"
    return ""


def _render(page, dpi: int) -> tuple[bytes | None, str]:
    """The page as an 8-bit grey PGM image, or None with the reason it cannot be read."""
    width, height = page.get_size()
    scale = dpi / 72
    if width * height * scale * scale > MAX_PAGE_PIXELS:
        scale = (MAX_PAGE_PIXELS / (width * height)) ** 0.5
    pixels = (round(width * scale), round(height * scale))
    if min(pixels) < MIN_SIDE_PIXELS:
        return None, f"Seite ist zu klein für die Texterkennung ({pixels[0]}×{pixels[1]} Pixel)"
    try:
        image = page.render(scale=scale, grayscale=True).to_pil().convert("L")
    except Exception as error:  # PDFium reports broken content streams with several exception types
        return None, f"Seite kann nicht gerendert werden ({type(error).__name__})"
    if image.getextrema()[0] > BLANK_LEVEL:
        return None, "Seite ist leer oder ihr Bild kann nicht gelesen werden – kein Text erkannt"
    buffer = io.BytesIO()
    image.save(buffer, format="PPM")
    return buffer.getvalue(), ""


def _read_page(image: bytes, options: OcrOptions) -> _PageResult:
    """Read one page image: plain layout analysis first; only when that finds no confident text is the page's
    orientation detected (a second, cheaper pass) and the turned page read again. Orientation detection on
    every page (--psm 1) would cost about a third more time on the usual upright pages."""
    deadline = time.monotonic() + options.page_seconds
    try:
        words = _words(_run(image, options, deadline, "--psm", "3", "tsv"))
        if words and _confidence(words) >= MIN_CONFIDENCE:
            return _PageResult(text=_layout(words))
        turn = _orientation(_run(image, options, deadline, "--psm", "0"))
        if turn:
            turned = _words(_run(_turned(image, turn), options, deadline, "--psm", "3", "tsv"))
            if _confidence(turned) > _confidence(words):
                words = turned
    except _TesseractFailed as failure:
        return _PageResult(problem=str(failure))
    if not words:
        return _PageResult(problem="keine Schrift erkannt (Foto, Grafik oder leere Seite?)")
    if _confidence(words) < MIN_CONFIDENCE:
        return _PageResult(problem=f"keine lesbare Schrift erkannt (Foto oder Grafik?, "
                                   f"Sicherheit {_confidence(words):.0f} %)")
    return _PageResult(text=_layout(words))


class _TesseractFailed(Exception):
    """Tesseract could not read the page; the message is the German reason."""


def _run(image: bytes, options: OcrOptions, deadline: float, *arguments: str) -> str:
    """Tesseract's output for `image` (read from stdin); an orientation pass that finds no script gives ''."""
    command = [shutil.which("tesseract") or "tesseract", "stdin", "stdout", "-l", options.language,
               "--dpi", str(options.dpi), *arguments]
    environment = {**os.environ, "OMP_THREAD_LIMIT": "1"}  # one thread per page: pages run in parallel
    try:
        finished = subprocess.run(command, input=image, capture_output=True, env=environment,
                                  timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        raise _TesseractFailed(f"Texterkennung nach {options.page_seconds:.0f} s abgebrochen") from None
    except OSError as error:
        raise _TesseractFailed(f"Tesseract startet nicht ({error.strerror or type(error).__name__})") from None
    if finished.returncode != 0:
        if "--psm" in arguments and arguments[arguments.index("--psm") + 1] == "0":
            return ""  # too few characters to tell the orientation
        message = finished.stderr.decode("utf-8", "replace").strip().splitlines()
        raise _TesseractFailed(f"Tesseract-Fehler ({message[-1] if message else finished.returncode})")
    return finished.stdout.decode("utf-8", "replace")


def _orientation(osd: str) -> int:
    """Degrees the page must be turned clockwise to stand upright (from Tesseract's OSD report)."""
    found = re.search(r"^Rotate:\s*(\d+)", osd, re.MULTILINE)
    return int(found.group(1)) % 360 if found else 0


def _turned(image: bytes, degrees: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.open(io.BytesIO(image)).rotate(-degrees, expand=True).save(buffer, format="PPM")
    return buffer.getvalue()


Word = tuple[tuple[str, str, str], float, str]  # ((block, paragraph, line), confidence, text)


def _words(tsv: str) -> list[Word]:
    """The recognised words of Tesseract's TSV table, in reading order."""
    words = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if row.get("level") == "5" and text and float(row.get("conf") or -1) >= 0:
            words.append(((row["block_num"], row["par_num"], row["line_num"]), float(row["conf"]), text))
    return words


def _confidence(words: list[Word]) -> float:
    """Mean word confidence (0–100), weighted by word length."""
    letters = sum(len(text) for *_, text in words)
    return sum(conf * len(text) for _, conf, text in words) / letters if letters else 0.0


def _layout(words: list[Word]) -> str:
    """Lines joined by line breaks, paragraphs by blank lines, as in a PDF's text layer."""
    paragraphs: dict[tuple[str, str], dict[str, list[str]]] = {}
    for (block, paragraph, line), _, text in words:
        paragraphs.setdefault((block, paragraph), {}).setdefault(line, []).append(text)
    return "\n\n".join("\n".join(" ".join(line) for line in lines.values()) for lines in paragraphs.values())
