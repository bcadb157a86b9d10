import polars as pl
import pytest

from rdial.rules.normalize import (dialogpt_normalize, dialogpt_normalize_series,
                                    minimal_word_count, minimal_word_count_expr, normalize_lists)
from tests.filter.synthetic import random_chains

CASES = {
    "Check http://x.io/a #tag b/c it's GREAT!!!! :)": "Check __url__ because it's GREAT ! ! ! :)",
    "call 555-123-4567 or (555) 123 4567 now...": "call 555 123 4567 or (555) 123 4567 now ...",
    "reddit.com is ok. e.g. this": "reddit.com is ok . e . g . this",
    ":D :P :-) 8) (: ):": ":D :P : ) 8) (: ):",
    "a....b ?!?!? ....": "a ... b ? ! ? ! ? ...",
    "1,000 3.14 10:30 100 12345678901": "1,000 3.14 10:30 100 1234567 8901",
    "rock'n'roll don't 'quoted'": "rock'n'roll don't ' quoted '",
    "URLs CURLY __url__ x": "__url__s C__url__Y __url__ x",   # DialoGPT's quirk, kept
    "w/o w/ j/k b/c": "without with just kidding because",
    "tab\there\nnew": "tab here new",
    "#only": "",
    "ünïcödé café ok": "n c d caf ok",
    "“quoted” thing": "“ quoted ” thing",
    "see:HTTPS://A.B/c?d=e, ok": "see : __url__ ok",
    "____ :::: ,,,,,": ":: : , , ,",
    "": "",
}


@pytest.mark.parametrize("raw,expected", list(CASES.items()))
def test_reference_normalisation(raw, expected):
    assert dialogpt_normalize(raw) == expected


def test_vectorised_equals_reference_on_cases_and_random_texts():
    texts = list(CASES) + pl.from_arrow(random_chains(400, seed=7))["turn_texts"].explode().to_list()
    got = dialogpt_normalize_series(pl.Series(texts)).to_list()
    assert got == [dialogpt_normalize(t) for t in texts]


def test_list_columns_keep_their_shapes():
    lists = pl.Series([["Hi there!!!!", "b/c"], [], ["#tag only"], None])
    assert normalize_lists(lists, dialogpt_normalize_series).to_list() == \
        [["Hi there ! ! !", "because"], [], ["only"], []]


def test_agrees_with_nltk_tweet_tokenizer():
    nltk_casual = pytest.importorskip("nltk.tokenize.casual")
    import re
    tok = nltk_casual.TweetTokenizer(preserve_case=True)
    texts = list(CASES) + pl.from_arrow(random_chains(300, seed=8))["turn_texts"].explode().to_list()

    def dialogpt(txt):  # reddit.py's gpt_norm_sentence with the real tokenizer
        words = []
        for word in txt.split():
            if word[0] == "#":
                continue
            i = word.lower().find("http")
            if i >= 0:
                word = word[:i] + " __url__"
            words.append(word.strip())
        txt = " ".join(words).replace("\\", "")
        txt = txt.replace("b/c", "because").replace("j/k", "just kidding").replace("w/o", "without").replace("w/", "with")
        txt = re.sub("__mention__", "MENTION", txt)
        txt = re.sub("__url__", "URL", txt)
        txt = re.sub(r"[^A-Za-z0-9()\[\]:,.!?'“” ]", " ", txt)
        txt = re.sub("MENTION", "__mention__", txt)
        txt = re.sub("URL", "__url__", txt)
        return " ".join((" " + " ".join(tok.tokenize(txt)) + " ").split())

    assert [dialogpt_normalize(t) for t in texts] == [dialogpt(t) for t in texts]


def test_minimal_word_count_ignores_backslashes():
    texts = ["a b \\ c", "  ", "one\ntwo\tthree", "\\\\ x"]
    assert [minimal_word_count(t) for t in texts] == [3, 0, 3, 1]
    assert pl.DataFrame({"t": texts}).select(minimal_word_count_expr(pl.col("t")))["t"].to_list() == [3, 0, 3, 1]
