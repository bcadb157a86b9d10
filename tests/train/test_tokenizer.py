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


def test_generate_on_a_model_folder_without_tokenizer_files_uses_trains_default(six_steps, tmp_path, capsys):
    import shutil

    from rdial.cli import main
    from rdial.train.tokenizer import OFFLINE, tokenizer_for_model

    checkpoint = six_steps[0] / "checkpoints" / "step-00000006"
    bare = tmp_path / "weights-only"
    bare.mkdir()
    for name in ("config.json", "model.safetensors", "generation_config.json"):
        shutil.copy(checkpoint / name, bare / name)
    assert tokenizer_for_model(bare) == OFFLINE and tokenizer_for_model(checkpoint) == str(checkpoint)
    assert main(["generate", str(checkpoint), "what comes after 17?", "--max-new-tokens", "6"]) == 0
    with_files = capsys.readouterr()
    assert main(["generate", str(bare), "what comes after 17?", "--max-new-tokens", "6"]) == 0
    assert capsys.readouterr() == with_files  # same reply, no end-of-text mismatch
