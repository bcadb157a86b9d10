"""Random but Reddit-like chains (CHAINS schema) for the filter benchmark and property tests.

    python -c "from tests.filter.synthetic import random_chains; print(random_chains(3, seed=1))"

A test fixture (and bench_filter's input), not part of rdial: run from the repository root.
`write_chains_corpus` writes chains where `rdial build` would, with the preset record build
leaves in corpus.json, so `rdial filter` can judge them.

Texts mix a Zipf-distributed vocabulary with what the rules look for (URLs, markup, shouting,
quotes, long tokens, repeated words, blocked words, canned bland replies, emoticons, numbers,
non-ASCII), so every rule both fires and passes on a realistic share of chains. Vectorised with
numpy: a million chains take seconds, so the benchmark measures the filter, not the generator.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from rdial import schema
from rdial.corpus import Corpus

_WORDS = ("the of and to a in is it you that he was for on are with as I his they be at one "
          "have this from or had by not but what some we can out other were all there when up "
          "your how said an each she which do their time if will way about many then them would "
          "like so these her long make thing see him two has look more day could go come did my "
          "sound no most number who over know water than call first people may down side been now "
          "find any new work part take get place made live where after back little only round "
          "man year came show every good me give our under name very through just form much great "
          "think say help low line before turn cause same mean differ move right boy old too does "
          "tell sentence set three want air well also play small end put home read hand port large "
          "spell add even land here must big high such follow act why ask men change went light "
          "kind off need house picture try us again animal point mother world near build self "
          "earth father head stand own page should country found answer school grow study still "
          "learn plant cover food sun four thought let keep eye never last door between city tree "
          "cross since hard start might story saw far sea draw left late run don't while press "
          "close night real life few stop lol yeah pretty actually really game reddit post upvote "
          "karma thread comment op edit source link wiki internet computer phone guy dude").split()
_SPICE = ["http://example.com/x", "https://i.imgur.com/abc.jpg", "[link](url)", "(this)", "WHAT",
          "AMAZING", "&gt; quoted", "> quoted", "supercalifragilisticexpialidociousness",
          "fuck", "shit", ":)", ":D", "3.14", "1,000", "555-123-4567", "café", "naïve", "#tag",
          "b/c", "w/o", "don't", "it's", "...", "!!!!", "r/AskReddit", "\\_(ツ)_/", "e.g.", "U.S."]
_BLAND = ["I don't know what you mean", "this is the way", "I don't know", "lol", "thank you",
          "me too", "same here", "I was going to say that", "this is the best", "yes"]
_SUBS = ["AskReddit", "funny", "pics", "gaming", "worldnews", "science", "politics", "movies",
         "todayilearned", "videos", "nsfw_stuff", "programming", "news", "aww", "IAmA"]
_AUTHORS = [f"user{i}" for i in range(5000)] + ["AutoModerator", "[deleted]", "RemindMeBot"]


def _texts(rng: np.random.Generator, n: int) -> list[str]:
    vocab = np.array(_WORDS, dtype=object)
    zipf = 1.0 / np.arange(1, len(vocab) + 1) ** 1.1
    zipf /= zipf.sum()
    lengths = np.minimum(rng.geometric(0.09, size=n), 60)
    words = vocab[rng.choice(len(vocab), size=int(lengths.sum()), p=zipf)]
    spice = rng.random(int(lengths.sum())) < 0.012
    words[spice] = np.array(_SPICE, dtype=object)[rng.integers(0, len(_SPICE), int(spice.sum()))]
    # real comments are punctuated: a comma after ~8% of words, a sentence end on ~80% of texts
    commas = rng.random(int(lengths.sum())) < 0.08
    words[commas] = words[commas] + ","
    cuts = np.cumsum(lengths)[:-1]
    ends = np.array([".", ".", ".", "?", "!", "", ""], dtype=object)[rng.integers(0, 7, size=n)]
    ends[rng.random(n) < 0.15] = ""
    texts = [" ".join(w) + e for w, e in zip(np.split(words, cuts), ends)]
    bland = np.flatnonzero(rng.random(n) < 0.08)
    for i in bland:
        texts[i] = _BLAND[int(rng.integers(0, len(_BLAND)))]
    repeat = np.flatnonzero(rng.random(n) < 0.01)
    for i in repeat:
        texts[i] = texts[i] + " no no no"
    return texts


def random_chains(n: int, *, seed: int = 0, max_turns: int = 6) -> pa.Table:
    """`n` chains of 2..max_turns turns, about 20 chains a thread, as a CHAINS table."""
    rng = np.random.default_rng(seed)
    turns = rng.integers(2, max_turns + 1, size=n)
    total = int(turns.sum())
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(turns, out=offsets[1:])
    threads = np.sort(rng.integers(0, max(1, n // 20), size=n))
    scores = rng.integers(-3, 60, size=total)
    score_mask = rng.random(total) < 0.02
    authors = np.array(_AUTHORS, dtype=object)[rng.integers(0, len(_AUTHORS), size=total)]
    subs = np.array(_SUBS, dtype=object)[threads % len(_SUBS)]
    nsfw = rng.random(n) < 0.03

    def listed(values, type_, mask=None):
        return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, type=type_, mask=mask))

    columns = {
        "link_id": pa.array([f"t3_{t:x}" for t in threads]),
        "subreddit": pa.array(subs.tolist()),
        "turn_ids": listed([f"c{i:x}" for i in range(total)], pa.string()),
        "turn_authors": listed(authors.tolist(), pa.string()),
        "turn_texts": listed(_texts(rng, total), pa.string()),
        "turn_scores": listed(scores, pa.int64(), score_mask),
        "turn_created": listed(1_500_000_000 + np.arange(total), pa.int64()),
        "over_18": pa.array(nsfw),
    }
    return pa.table(columns).cast(schema.CHAINS)


def chain_row(*texts: str, link: str = "t3_a", sub: str = "AskReddit", scores=None, authors=None,
              over_18: bool | None = None) -> dict:
    """One inline chain (a CHAINS row as a dict), oldest turn first: `chain_row("hi", "hello")`."""
    n = len(texts)
    return dict(link_id=link, subreddit=sub, turn_ids=[f"c{i}" for i in range(n)],
                turn_authors=authors or [f"user{i}" for i in range(n)], turn_texts=list(texts),
                turn_scores=scores if scores is not None else [5] * n,
                turn_created=list(range(n)), over_18=over_18)


def chains_table(rows: list[dict]) -> pa.Table:
    """Inline chain rows -> a CHAINS table (exact schema)."""
    columns = {name: [r[name] for r in rows] for name in schema.CHAINS.names}
    return pa.table(columns, schema=schema.CHAINS)


def record_preset(corpus: Corpus, preset: str = "rdial") -> None:
    """Record in corpus.json that its chains were built with `preset` (as `rdial build` does)."""
    from rdial.rules import load_settings
    from rdial.rules.record import preset_record, write_record

    write_record(corpus, preset_record(load_settings(preset), None, {}))


def write_chains_corpus(root, table: pa.Table, buckets: int = 4, preset: str = "rdial") -> Corpus:
    """A corpus holding `table` as chains files, bucketed by thread as build does."""
    import polars as pl

    corpus = Corpus.open_or_create(root, buckets)
    corpus.chains_dir.mkdir(parents=True, exist_ok=True)
    b = schema.thread_buckets(table["link_id"], buckets)
    df = pl.from_arrow(table).with_columns(pl.Series("_b", b))
    for (k,), g in df.partition_by("_b", as_dict=True).items():
        g.drop("_b").write_parquet(corpus.chains_file(int(k)))
    record_preset(corpus, preset)
    return corpus
