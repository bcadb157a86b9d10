"""DSTC7's / DialoGPT's clean_str, on the examples their tokenizers.py prints and a few more."""

from rdial.eval.clean import clean_str


def test_examples_of_their_scripts():
    assert clean_str(" I don't know:). how about this?https://github.com/golsun/deep-RL-time-series") == \
        "i do n't know :) . how about this ? __url__"
    assert clean_str("please try [ GitHub ] ( https://github.com )") == "please try github"


def test_contractions_markup_and_illegal_characters():
    assert clean_str("I won't, can't & shouldn't; they're here 🤔") == "i will n't , can n't should n't they 're here"
    assert clean_str("**bold** _it_ ~~gone~~ <b>x</b>") == "bold it gone b x b"
    assert clean_str("") == ""
