"""The shipped list of Kommunen: names, variants, Bundesländer, and finding them in text and file names."""

from __future__ import annotations

import pytest

from index import Gazetteer


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.shipped()


@pytest.mark.parametrize(("spelling", "name", "land"), [
    ("Dresden", "Dresden", "Sachsen"),
    ("Landeshauptstadt Dresden", "Dresden", "Sachsen"),
    ("Görlitz", "Landkreis Görlitz", "Sachsen"),
    ("landkreis görlitz", "Landkreis Görlitz", "Sachsen"),
    ("Dessau-Rosslau", "Dessau-Roßlau", "Sachsen-Anhalt"),
    ("Mülheim", "Mülheim an der Ruhr", "Nordrhein-Westfalen"),
    ("Mülheim an der Ruhr", "Mülheim an der Ruhr", "Nordrhein-Westfalen"),
    ("Landkreis Kyffhäuser", "Kyffhäuserkreis", "Thüringen"),
    ("Kreis Lippe", "Kreis Lippe", "Nordrhein-Westfalen"),
    ("Freiburg", "Freiburg im Breisgau", "Baden-Württemberg"),
    ("Rheingau-Taunus", "Rheingau-Taunus-Kreis", "Hessen"),
    ("München", "München", "Bayern"),  # the city; the Kreis of the same name is „Landkreis München“
    ("Landkreis München", "Landkreis München", "Bayern"),
    ("Nürnberg", "Nürnberg", "Bayern"),
    ("Hamburg", "Hamburg", "Hamburg"),
    ("Stadt Essen", "Essen", "Nordrhein-Westfalen"),
    ("Hannover", "Hannover", "Niedersachsen"),  # a larger Stadt inside a Region
])
def test_variants_resolve_to_one_commune_with_its_land(gazetteer: Gazetteer, spelling: str, name: str, land: str):
    commune = gazetteer.resolve(spelling)
    assert commune is not None and (commune.name, commune.bundesland) == (name, land)


@pytest.mark.parametrize("spelling", ["Transferagentur Berlin", "Mitteldeutschland", "Essen", "Halle", "Frankfurt"])
def test_no_commune_or_ambiguous_names_resolve_to_nothing(gazetteer: Gazetteer, spelling: str):
    assert gazetteer.resolve(spelling) is None


def test_mentions_in_order_with_variants_but_not_inside_other_names(gazetteer: Gazetteer):
    text = ("Bildungsbüros in Dresden und Dessau-Roßlau, die Abteilung in Leipzig, der Landkreis Kyffhäuser; das "
            "Gartenreich Dessau-Wörlitz, Mülheim-Kärlich, das Essen und der Hof sind keine Kommunen. Erfurts Amt.")
    names = [commune.name for commune in gazetteer.mentions(text)]
    assert names == ["Dresden", "Dessau-Roßlau", "Leipzig", "Kyffhäuserkreis", "Erfurt"]


@pytest.mark.parametrize(("source", "names"), [
    ("muelheim-ruhr-bildungsbuero.md", ["Mülheim an der Ruhr"]),
    ("landkreis-goerlitz-grenzlage-bildungsthemen.md", ["Landkreis Görlitz"]),
    ("kyffhaeuserkreis-bildungsbericht-verbreitung.md", ["Kyffhäuserkreis"]),
    ("dessau-rosslau-standortprofil.md", ["Dessau-Roßlau"]),
    ("praxisbeispiele-mitteldeutschland.pdf", []),
    ("stiftungen-patenschaften-praxis.md", []),
])
def test_file_names_in_transliteration(gazetteer: Gazetteer, source: str, names: list[str]):
    assert [commune.name for commune in gazetteer.in_file_name(source)] == names


def test_canonical_names_for_comparing(gazetteer: Gazetteer):
    assert gazetteer.canonical("GÖRLITZ") == gazetteer.canonical("Landkreis Görlitz") == "Landkreis Görlitz"
    assert gazetteer.canonical("Dessau-Rosslau") == "Dessau-Roßlau"
    assert gazetteer.canonical("Irgendwo  Straße") == "irgendwo strasse"
