"""Batched decoding: left-padded rows decode exactly as they do alone (greedy and beam)."""

import pytest
import torch

from rdial.train.generate import DecodeSettings, Generator

CONTEXTS = [["what comes after 17?"], ["what comes after 3?", "4 comes after 3.", "and after 4?"],
            ["the cat sat on the mat because it was very warm outside"], ["hello there"], ["why?"],
            ["it rained so everyone went home early to read books", "and then?"]]


@pytest.fixture(scope="module")
def generator(six_steps):
    return Generator(six_steps[0], device="cpu")


def one_at_a_time(gen, settings):
    return [gen.generate_ids([gen.context_ids(c, settings.max_new_tokens)], settings, batch_size=1)[0]
            for c in CONTEXTS]


@pytest.mark.parametrize("settings", [DecodeSettings(max_new_tokens=10),
                                      DecodeSettings(max_new_tokens=10, beams=3, n_best=2, length_penalty=0.7,
                                                     no_repeat_ngram=2, repetition_penalty=1.3)],
                         ids=["greedy", "beam"])
def test_batched_equals_one_at_a_time(generator, settings):
    alone = one_at_a_time(generator, settings)
    ids = [generator.context_ids(c, settings.max_new_tokens) for c in CONTEXTS]
    assert generator.generate_ids(ids, settings, batch_size=len(CONTEXTS)) == alone
    assert generator.generate_ids(ids, settings, batch_size=2) == alone
    assert all(len(n) == settings.n_best for n in alone)


def test_greedy_is_the_argmax_chain(generator):
    """The batched greedy reply of the longest context, written out step by step."""
    settings = DecodeSettings(max_new_tokens=8)
    ids = generator.context_ids(CONTEXTS[1], 8)
    eos, new = generator.tokenizer.eos_id, []
    with torch.no_grad():
        for _ in range(8):
            nxt = int(generator.model(torch.tensor([ids + new])).logits[0, -1].argmax())
            if nxt == eos:
                break
            new.append(nxt)
    batched = generator.generate_ids([generator.context_ids(c, 8) for c in CONTEXTS], settings, batch_size=5)
    assert batched[1] == [new]


def test_no_repeat_ngram_holds(generator):
    settings = DecodeSettings(max_new_tokens=20, no_repeat_ngram=2)
    for replies in generator.generate_ids([generator.context_ids(c, 30) for c in CONTEXTS], settings):
        seq = replies[0]
        pairs = list(zip(seq, seq[1:]))
        assert len(pairs) == len(set(pairs))


def test_sampling_is_seeded(generator):
    settings = DecodeSettings(max_new_tokens=6, sample=True, top_k=20, n_best=2, seed=5)
    ids = [generator.context_ids(c, 6) for c in CONTEXTS[:3]]
    first = generator.generate_ids(ids, settings, batch_size=3)
    assert generator.generate_ids(ids, settings, batch_size=3) == first
    assert all(len(n) == 2 for n in first)
