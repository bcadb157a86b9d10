"""The text cleaning DSTC7's and DialoGPT's scorers apply with `--clean` (their `clean_str`).

    python -c "from rdial.eval.clean import clean_str; print(clean_str(\\" I don't know:). how about this?https://github.com\\"))"
    # i do n't know :) . how about this ? __url__

Steps, in their order: lower-case; a word containing "http" keeps what precedes it and becomes
"__url__" from there; a markdown link "[text] ( __url__ )" keeps its text; every character
outside [A-Za-z0-9():,.!?"'] becomes a space (__url__ survives); nltk's TweetTokenizer splits
the rest (emoticons such as ":)" stay whole); "won't" -> "will n't", "can't" -> "can n't", and
's 'm 're n't 'll 've 'd 'em are split off; runs of spaces become one.

The tokenizer is nltk's own (the library DialoGPT used; tested here with nltk 3.10); the other
steps are written out below from DialoGPT's dstc/tokenizers.py.
"""

from __future__ import annotations

import functools
import re

_MARKDOWN_URL = re.compile(r"\[([^\]]*)\] \( *__url__ *\)")
_ILLEGAL = re.compile(r"[^A-Za-z0-9():,.!?\"\']")
_CONTRACTIONS = ("'s", "'m", "'re", "n't", "'ll", "'ve", "'d", "'em")


@functools.lru_cache(maxsize=1)
def _tweet_tokenizer():
    try:
        from nltk.tokenize import TweetTokenizer
    except ImportError as exc:
        from rdial.errors import RdialError

        raise RdialError("--clean needs nltk's TweetTokenizer (pip install 'rdial[eval]' or nltk), "
                         "or pass --no-clean") from exc

    return TweetTokenizer(preserve_case=False)


@functools.lru_cache(maxsize=1 << 18)  # test sets repeat references across systems and runs
def clean_str(text: str) -> str:
    text = text.lower()
    words = []
    for word in text.split():
        i = word.find("http")
        if i >= 0:
            word = word[:i] + " __url__"
        words.append(word.strip())
    text = " ".join(words)
    text = _MARKDOWN_URL.sub(r"\1", text)
    # protect the placeholder: its underscores are "illegal" characters
    text = text.replace("__url__", "URL")
    text = _ILLEGAL.sub(" ", text)
    text = text.replace("URL", "__url__")
    text = " " + " ".join(_tweet_tokenizer().tokenize(text)) + " "
    text = text.replace(" won't ", " will n't ").replace(" can't ", " can n't ")
    for c in _CONTRACTIONS:
        text = text.replace(c + " ", " " + c + " ")
    return " ".join(text.split())
