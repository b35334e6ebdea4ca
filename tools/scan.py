"""Turn a text PDF into an image-only PDF, as a scanner makes it: each page a grey picture, no text layer.

Used by the OCR tests and to make the sample corpus's scanned document:

    python -m tools.scan TEXT.pdf SCAN.pdf [--dpi 200] [--quality 60]
"""

from __future__ import annotations

import argparse
import io
import random
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from fpdf import FPDF
from PIL import Image, ImageFilter


def scan_pdf(source: Path, target: Path, *, dpi: int = 200, rotate: int = 0, skew: float = 0.0,
             quality: int | None = None, seed: int = 0) -> Path:
    """Render every page of `source` at `dpi` and write only the pictures to `target`.

    `rotate` turns the page content by a multiple of 90° (a sheet fed sideways), `skew` by a few degrees;
    with `quality` the pictures are JPEG at that quality with a little blur and speckle, like a real scan.
    """
    document = pdfium.PdfDocument(str(source))
    pdf = FPDF(unit="pt")
    pdf.set_auto_page_break(False)
    noise = random.Random(seed)
    for page in document:
        width, height = page.get_size()
        picture = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
        if skew:
            picture = picture.rotate(skew, resample=Image.Resampling.BICUBIC, fillcolor=255)
        if rotate % 360:
            picture = picture.rotate(rotate, expand=True)
            width, height = (height, width) if rotate % 180 else (width, height)
        buffer = io.BytesIO()
        if quality is None:
            picture.save(buffer, format="PNG")
        else:
            _speckle(picture.filter(ImageFilter.GaussianBlur(0.6)), noise).save(buffer, format="JPEG",
                                                                                  quality=quality)
        pdf.add_page(format=(width, height))
        pdf.image(buffer, x=0, y=0, w=width, h=height)
    document.close()
    pdf.output(str(target))
    return target


def _speckle(picture: Image.Image, noise: random.Random, dots: int = 400) -> Image.Image:
    """A few dark dots of dust, as on a scanner's glass."""
    pixels = picture.load()
    for _ in range(dots):
        x, y = noise.randrange(picture.width), noise.randrange(picture.height)
        pixels[x, y] = noise.randrange(60, 160)
    return picture


def character_error_rate(recognised: str, original: str) -> float:
    """Levenshtein distance (insertions, deletions, substitutions) over the original's length."""
    previous = np.arange(len(recognised) + 1)
    target = np.frombuffer(recognised.encode("utf-32-le"), dtype=np.uint32)
    for row, char in enumerate(original, start=1):
        substitution = previous[:-1] + (target != ord(char))
        current = np.empty_like(previous)
        current[0] = row
        current[1:] = np.minimum(substitution, previous[1:] + 1)
        current = np.minimum.accumulate(current - np.arange(len(current))) + np.arange(len(current))
        previous = current
    return int(previous[-1]) / max(1, len(original))


def main() -> None:
    parser = argparse.ArgumentParser(description="Text-PDF in ein reines Bild-PDF (Scan) umwandeln")
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--dpi", type=int, default=200)
    parser.add_argument("--quality", type=int, help="JPEG-Qualität (mit leichter Unschärfe und Staub)")
    parser.add_argument("--skew", type=float, default=0.0, help="Schräglage in Grad")
    args = parser.parse_args()
    scan_pdf(args.source, args.target, dpi=args.dpi, quality=args.quality, skew=args.skew)


if __name__ == "__main__":
    main()
