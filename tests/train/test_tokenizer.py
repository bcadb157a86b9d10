from rdial.train.tokenizer import load_tokenizer


def test_offline_gpt2_encodes_hello_world(tokenizer):
    assert tokenizer.encode_turns(["Hello world"]) == [[15496, 995]]
    assert tokenizer.eos_id == 50256
    assert tokenizer.vocab_size == 50257


def test_text_cannot_forge_the_turn_separator(tokenizer):
    # "<|endoftext|>" typed in a comment is plain text, never the separator id 50256
    assert tokenizer.encode_turns(["a <|endoftext|>"]) == [[64, 1279, 91, 437, 1659, 5239, 91, 29]]


def test_saved_tokenizer_reloads_identically(tokenizer, tmp_path):
    tokenizer.save(tmp_path)
    again = load_tokenizer(str(tmp_path))
    assert again.encode_turns(["Hello world", " café"]) == [[15496, 995], [40304]]
    assert again.eos_id == 50256
    assert again.decode([15496, 995, 50256]) == "Hello world"
