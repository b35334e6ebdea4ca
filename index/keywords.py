"""German keyword analysis for BM25: lower-casing, stop words, Snowball stemming, umlauts kept."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

_TOKEN = re.compile(r"\w+", re.UNICODE)

GERMAN_STOP_WORDS = frozenset(
    """
    aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes
    anderm andern anderr anders auch auf aus bei bin bis bist da damit dann das dass daß dasselbe
    dazu dein deine deinem deinen deiner deines dem demselben den denn denselben der derer derselbe
    derselben des desselben dessen dich die dies diese dieselbe dieselben diesem diesen dieser
    dieses dir doch dort du durch ein eine einem einen einer eines einig einige einigem einigen
    einiger einiges einmal er es etwas euch euer eure eurem euren eurer eures für gegen gewesen hab
    habe haben hat hatte hatten hier hin hinter ich ihm ihn ihnen ihr ihre ihrem ihren ihrer ihres
    im in indem ins ist jede jedem jeden jeder jedes jene jenem jenen jener jenes jetzt kann kein
    keine keinem keinen keiner keines können könnte machen man manche manchem manchen mancher
    manches mein meine meinem meinen meiner meines mich mir mit muss musste nach nicht nichts noch
    nun nur ob oder ohne sehr sein seine seinem seinen seiner seines selbst sich sie sind so solche
    solchem solchen solcher solches soll sollte sondern sonst über um und uns unsere unserem unseren
    unser unseres unter viel vom von vor während war waren warst was weg weil weiter welche welchem
    welchen welcher welches wenn werde werden wie wieder will wir wird wirst wo wollen wollte würde
    würden zu zum zur zwar zwischen wer wann warum wieso weshalb woher wohin worin womit wurde
    wurden
    """.split()
)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("german")


def analyze(text: str) -> list[str]:
    """Stemmed keyword terms of a German text, stop words removed."""
    words = [word for word in _TOKEN.findall(text.lower()) if word not in GERMAN_STOP_WORDS]
    return _stemmer().stemWords(words)
