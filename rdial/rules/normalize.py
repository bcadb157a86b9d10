"""DialoGPT's text normalisation, per string (the reference) and on whole polars columns.

    python -c "from rdial.rules.normalize import dialogpt_normalize as n; \
print(n('Check http://x.io/a #tag b/c it\\'s GREAT!!!! :)'))"
    # -> Check __url__ because it's GREAT ! ! ! :)

DialoGPT's extractor (reddit_extractor/src/reddit.py, `gpt_norm_sentence`) does, in order:
  1. split on whitespace; drop words starting with '#'; a word containing "http" (any case)
     becomes its part before "http" plus " __url__"
  2. remove backslashes; "b/c" -> "because", "j/k" -> "just kidding", "w/o" -> "without",
     "w/" -> "with" (literal, case-sensitive, in that order)
  3. every character outside [A-Za-z0-9()[]:,.!?'“” ] becomes a space, except that the markers
     __url__/__mention__ survive (and, a quirk kept on purpose, a literal "URL" or "MENTION"
     in the text becomes "__url__"/"__mention__")
  4. NLTK's TweetTokenizer (case preserved), tokens joined by single spaces.

NLTK is not a dependency: after step 3 only a handful of characters remain, so the tokenizer
reduces to the few alternatives of its regex that can still match (naked domains, phone numbers,
emoticons, words with apostrophes, numbers, words, ellipses, any other character), in NLTK's
order, plus its rule that shortens runs of 4+ identical punctuation characters to 3. The tests
compare this with NLTK itself when it is installed.

`minimal_word_count` is the word count DialoGPT's length limit (30 words) applies to: whitespace
words after removing backslashes (its `minimal_norm_sentence`).
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pyarrow as pa

URL, MENTION = "__url__", "__mention__"
_ABBREVIATIONS = (("b/c", "because"), ("j/k", "just kidding"), ("w/o", "without"), ("w/", "with"))
_ILLEGAL = r"[^A-Za-z0-9()\[\]:,.!?'“” ]"
_PUNCT_RUN_CHARS = "()[]:,.!?'“” _"

# TweetTokenizer's alternatives that can match text made only of the characters kept above,
# in NLTK's order (URLs, phone numbers, emoticons, ..., anything else). Rust's regex (polars)
# and Python's re both pick the leftmost-first alternative, so both give NLTK's tokens.
TOKEN_PATTERN = (
    r"[A-Za-z0-9]+(?:\.[A-Za-z0-9]+){0,126}\.[A-Za-z]{2,13}\b"   # naked domain: "reddit.com"
    r"|(?:[01][ .)]*)?(?:\(?[0-9]{3}[ .)]*)?[0-9]{3}[ .)]*[0-9]{4}"  # phone numbers
    r"|[:8][oO']?[)\](\[dDpP:]|[)\](\[dDpP:][oO']?[:8]"        # emoticons: ":)", "(:"
    r"|[A-Za-z](?:[A-Za-z]|['_])+[A-Za-z]"                      # words with apostrophes
    r"|[0-9]+[,.:][0-9]+"                                       # numbers: 1,000 3.14 10:30
    r"|[A-Za-z0-9_]+"                                           # words
    r"|\.(?: *\.)+"                                             # ellipsis
    r"|[^ ]"                                                    # anything else
)
_TOKEN_RE = re.compile(TOKEN_PATTERN)
_HANG_RE = re.compile(r"([^A-Za-z0-9])\1{3,}")


def dialogpt_normalize(text: str) -> str:
    """One string, the way DialoGPT's `gpt_norm_sentence` does it (the per-instance reference)."""
    words = []
    for word in text.split():
        if word[0] == "#":
            continue
        i = word.lower().find("http")
        if i >= 0:
            word = word[:i] + " " + URL
        words.append(word.strip())
    txt = " ".join(words).replace("\\", "")
    for short, long in _ABBREVIATIONS:
        txt = txt.replace(short, long)
    txt = txt.replace(MENTION, "MENTION").replace(URL, "URL")
    txt = re.sub(_ILLEGAL, " ", txt)
    txt = txt.replace("MENTION", MENTION).replace("URL", URL)
    txt = _HANG_RE.sub(r"\1\1\1", txt)
    return " ".join(" ".join(_TOKEN_RE.findall(txt)).split())


def _where(s: pl.Series, pattern: str, fn, literal: bool = False) -> pl.Series:
    """Apply `fn` only to the rows that contain `pattern` (most steps touch few rows)."""
    mask = s.str.contains(pattern, literal=literal).fill_null(False)
    if not mask.any():
        return s
    return s.scatter(mask.arg_true(), fn(s.filter(mask)))


def _abbreviate(s: pl.Series) -> pl.Series:
    for short, long in _ABBREVIATIONS:
        s = s.str.replace_all(short, long, literal=True)
    return s


def _shorten_runs(s: pl.Series) -> pl.Series:
    for ch in _PUNCT_RUN_CHARS:
        s = s.str.replace_all(re.escape(ch) + "{4,}", ch * 3)
    return s


_RUNS = "|".join(re.escape(ch * 4) for ch in _PUNCT_RUN_CHARS)
_MARKERS = f"URL|MENTION|{URL}|{MENTION}"


def dialogpt_normalize_series(text: pl.Series) -> pl.Series:
    """The same normalisation on a whole string column (nulls become "").

    Each step runs only on the rows that need it (hashtags, URLs, backslashes, "b/c", markers,
    punctuation runs are rare; a row of plain words needs no tokenizer).
    """
    s = text.fill_null("")
    s = _where(s, "#", lambda x: x.str.replace_all(r"(?:^|\s)#\S*", " "), literal=True)
    s = _where(s, "(?i)http", lambda x: x.str.replace_all(r"(?i)http\S*", " " + URL))
    s = _where(s, "\\", lambda x: x.str.replace_all("\\", "", literal=True), literal=True)
    s = _where(s, "/", _abbreviate, literal=True)
    markers = s.str.contains(_MARKERS).fill_null(False)
    if markers.any():  # protect the markers from the character filter
        rows = markers.arg_true()
        s = s.scatter(rows, s.filter(markers).str.replace_all(MENTION, "MENTION", literal=True)
                      .str.replace_all(URL, "URL", literal=True))
    s = _where(s, _ILLEGAL, lambda x: x.str.replace_all(_ILLEGAL, " "))
    if markers.any():
        s = s.scatter(rows, s.filter(markers).str.replace_all("MENTION", MENTION, literal=True)
                      .str.replace_all("URL", URL, literal=True))
    s = _where(s, _RUNS, _shorten_runs)
    # Only letters and spaces: the tokens are the words (every other alternative of the
    # tokenizer needs a digit or a punctuation mark), so only the other rows are tokenized.
    s = _where(s, "[^A-Za-z ]", lambda x: x.str.extract_all(TOKEN_PATTERN).list.join(" "))
    s = _where(s, "  ", lambda x: x.str.replace_all(" {2,}", " "), literal=True)  # phone tokens
    return s.str.strip_chars(" ")


def collapse_spaces(text: pl.Series) -> pl.Series:
    """normalize = "none": only whitespace runs become one space."""
    return text.fill_null("").str.replace_all(r"\s+", " ").str.strip_chars()


def normalize_lists(texts: pl.Series, fn) -> pl.Series:
    """Apply a column function to every string of a list column; same list shapes back."""
    lengths = texts.list.len().fill_null(0)
    flat = texts.explode(empty_as_null=False, keep_nulls=False)
    out = fn(flat) if len(flat) else flat
    offsets = pa.array(np.concatenate([[0], np.cumsum(lengths.to_numpy())]).astype(np.int64))
    values = out.to_arrow()
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return pl.from_arrow(pa.LargeListArray.from_arrays(offsets, values)).alias(texts.name)


def minimal_word_count(text: str) -> int:
    return len(text.replace("\\", "").split())


def minimal_word_count_expr(text: pl.Expr) -> pl.Expr:
    return text.str.replace_all("\\", "", literal=True).str.count_matches(r"\S+").cast(pl.Int64)
