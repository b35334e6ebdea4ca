"""Knowing the Kommune: Germany's Kreise, kreisfreie Städte and larger Städte with their Land, and where a
document or a sentence names one.

The list ships as data (`index/data/`, sources in its NOTICE.md): the 400 Kreise and kreisfreie Städte of the
Destatis Gemeindeverzeichnis (31 Dec 2023) and a few larger kreisangehörige Städte. Each gets one name as lvo
shows it („Dresden“, „Landkreis Görlitz“, „Kreis Lippe“, „Kyffhäuserkreis“) and the variants by which texts name
it („Görlitz“, „Mülheim“ for Mülheim an der Ruhr, „Landkreis Kyffhäuser“, „Dessau-Rosslau“).
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
KREISE = DATA / "kreise-2023.csv"
GEMEINDEN = DATA / "gemeinden.csv"

# Destatis suffixes of kreisfreie Städte ("Dresden, Stadt", "Ulm, Stadtkreis", "München, Landeshauptstadt")
_CITY_SUFFIX = re.compile(r",\s*(.*(?:stadt|Stadt|Stadtkreis)[^,]*)$")
_PARENTHESIS = re.compile(r"\s*\([^)]*\)")
_QUALIFIED = re.compile(r"\s+(?:an der|am|im|in der|a\.d\.|i\.d\.|a\.|i\.)\s*\S.*$")  # "Mülheim an der Ruhr"
# Bare names that are also common German words or regions; they count only as „Stadt Essen“, „Kreis Lippe“ …
AMBIGUOUS = frozenset({"Essen", "Halle", "Hof", "Lippe", "Regen", "Harz", "Weiden", "Leer", "Roth", "Cham", "Börde",
                       "Stade", "Olpe", "Altmark"})
_PLAIN_KREIS_LANDS = ("Nordrhein-Westfalen", "Schleswig-Holstein")  # there a Landkreis is called „Kreis …“
# Priorities of a variant: a full name beats a short city name, which beats a Kreis's bare name.
FULL, SHORT, BARE = 0, 1, 2


@dataclass(frozen=True)
class Commune:
    name: str  # as lvo shows it
    bundesland: str


def fold(text: str) -> str:
    """Names compared without case, ß/ss and spacing differences."""
    return " ".join(text.replace("ß", "ss").replace("ẞ", "SS").lower().replace("‐", "-").split())


def transliterate(text: str) -> str:
    """A name as it appears in file names: ä → ae, ß → ss, separators as spaces."""
    folded = fold(text)
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue")):
        folded = folded.replace(umlaut, plain)
    return " ".join(re.split(r"[\s_.\-–]+", folded)).strip()


def _kreis_name(name: str, bundesland: str) -> str:
    if re.search(r"kreis", name, re.IGNORECASE) or name.startswith(("Region", "Städteregion", "Regionalverband")):
        return name
    return f"{'Kreis' if bundesland in _PLAIN_KREIS_LANDS else 'Landkreis'} {name}"


def _city_variants(base: str) -> list[tuple[str, int]]:
    short = _QUALIFIED.sub("", _PARENTHESIS.sub("", base)).strip()
    variants = [(base, FULL), (f"Stadt {short}", FULL), (_PARENTHESIS.sub("", base).strip(), SHORT), (short, SHORT)]
    return [(name, rank) for name, rank in variants if name not in AMBIGUOUS]


def _kreis_variants(name: str, shown: str) -> list[tuple[str, int]]:
    variants = [(shown, FULL), (name, BARE)]
    bare = _PARENTHESIS.sub("", name).strip()
    variants += [(f"Landkreis {bare}", FULL), (f"Kreis {bare}", FULL), (bare, BARE)]
    stem = re.sub(r"-?[Kk]reis$", "", bare)
    if stem != bare:  # „Kyffhäuserkreis“: „Landkreis Kyffhäuser“; „Rheingau-Taunus-Kreis“: „Rheingau-Taunus“
        variants += [(f"Landkreis {stem}", FULL), (f"Kreis {stem}", FULL)]
        if "-" in stem:
            variants.append((stem, BARE))
    return [(variant, rank) for variant, rank in variants if variant not in AMBIGUOUS]


class Gazetteer:
    """Communes by their variants; finds them in metadata, titles, file names and sentences."""

    def __init__(self, entries: list[tuple[Commune, list[tuple[str, int]]]]):
        claims: dict[str, tuple[int, set[Commune]]] = {}
        for commune, variants in entries:
            for variant, rank in variants:
                for spelling in {variant, variant.replace("ß", "ss")}:
                    key = fold(spelling)
                    best, owners = claims.get(key, (rank + 1, set()))
                    if rank < best:
                        claims[key] = (rank, {commune})
                    elif rank == best:
                        owners.add(commune)
        # a variant two communes claim equally („Frankfurt“) names neither
        self._by_variant = {key: next(iter(owners)) for key, (_, owners) in claims.items() if len(owners) == 1}
        self._by_name = {commune.name: commune for commune, _ in entries}
        self._spellings = {variant: commune for commune, variants in entries for name, _ in variants
                           for variant in {name, name.replace("ß", "ss")}
                           if self._by_variant.get(fold(variant)) == commune}
        alternatives = "|".join(re.escape(name) for name in sorted(self._spellings, key=len, reverse=True))
        self._in_text = re.compile(rf"(?<![\w-])({alternatives})s?(?![\w-])")
        by_file = {transliterate(name): commune for name, commune in self._spellings.items()}
        self._file_names = by_file
        self._in_file = re.compile(
            rf"(?<!\w)({'|'.join(re.escape(name) for name in sorted(by_file, key=len, reverse=True))})(?!\w)")

    @classmethod
    @functools.cache
    def shipped(cls) -> Gazetteer:
        """The list shipped with lvo (read once per process)."""
        entries: list[tuple[Commune, list[tuple[str, int]]]] = []
        with KREISE.open(encoding="utf-8") as rows:
            for row in csv.DictReader(rows):
                name, land, key = row["name"], row["bundesland"], row["ags"]
                suffix = _CITY_SUFFIX.search(name)
                if suffix or (land == "Bayern" and key[3] == "6"):  # Bavaria's kreisfreie Städte carry no suffix
                    base = name[:suffix.start()] if suffix else name
                    entries.append((Commune(base, land), _city_variants(base)))
                else:
                    shown = _kreis_name(name, land)
                    entries.append((Commune(shown, land), _kreis_variants(name, shown)))
        with GEMEINDEN.open(encoding="utf-8") as rows:
            for row in csv.DictReader(rows):
                entries.append((Commune(row["name"], row["bundesland"]), _city_variants(row["name"])))
        return cls(entries)

    def resolve(self, name: str) -> Commune | None:
        """The commune a metadata value or a user's spelling means („Landkreis Görlitz“, „Mülheim“), or None."""
        key = fold(re.sub(r"^(Stadt|Landeshauptstadt|Hansestadt|Universitätsstadt)\s+", "", name.strip()))
        return self._by_variant.get(key) or self._by_variant.get(fold(name))

    def canonical(self, name: str) -> str:
        """The name lvo shows for `name`, or `name` folded when it is no known commune (for comparing names)."""
        commune = self.resolve(name)
        return commune.name if commune else fold(name)

    def mentions(self, text: str) -> list[Commune]:
        """The communes `text` names, in order of first mention."""
        return list(dict.fromkeys(commune for commune, _, _ in self.mention_spans(text)))

    def mention_spans(self, text: str) -> list[tuple[Commune, int, int]]:
        """Each naming of a commune in `text` with its character offsets."""
        return [(self._spellings[match.group(1)], match.start(), match.end()) for match in self._in_text.finditer(text)]

    def in_file_name(self, source: str) -> list[Commune]:
        stem = transliterate(Path(source.split("#", 1)[0]).stem)
        found = [self._file_names[match.group(1)] for match in self._in_file.finditer(stem)]
        return list(dict.fromkeys(found))

    def by_name(self, name: str) -> Commune | None:
        return self._by_name.get(name)
