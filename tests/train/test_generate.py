import torch
from transformers import AutoModelForCausalLM

from rdial.cli import main
from rdial.train.generate import reply
from rdial.train.tokenizer import load_tokenizer


def greedy_reference(model, tok, turns, max_new_tokens):
    """Greedy decoding written out: turns + EOS each, argmax until EOS."""
    ids = [t for turn in tok.encode_turns(turns) for t in turn + [tok.eos_id]]
    new = []
    with torch.no_grad():
        for _ in range(max_new_tokens):
            nxt = int(model(torch.tensor([ids + new])).logits[0, -1].argmax())
            if nxt == tok.eos_id:
                break
            new.append(nxt)
    return tok.decode(new).strip()


def test_generate_replies_from_a_checkpoint(six_steps, capsys):
    run, _ = six_steps
    checkpoint = run / "checkpoints" / "step-00000006"
    # an undertrained model often ends at once; take the first dialogue it answers with text
    candidates = [["what comes after 17?"], ["what comes after 3?", "4 comes after 3.", "and after 4?"],
                  ["the cat sat on the mat"], ["hello there"], ["why?"], ["it rained so everyone went home"]]
    model = AutoModelForCausalLM.from_pretrained(checkpoint).eval()
    tok = load_tokenizer(str(checkpoint))
    answered = [(turns, greedy_reference(model, tok, turns, 12)) for turns in candidates]
    answered = [(turns, text) for turns, text in answered if text]
    assert answered, "no candidate prompt got a non-empty greedy reply"
    turns, expected = answered[0]
    assert reply(run, turns, max_new_tokens=12) == expected
    assert main(["generate", str(run), *turns, "--max-new-tokens", "12"]) == 0
    assert capsys.readouterr().out == expected + "\n"


def test_chat_keeps_the_dialogue_and_replies_per_line(six_steps, capsys, monkeypatch):
    import io

    run, _ = six_steps
    first = reply(run, ["hello there"], max_new_tokens=8)
    second = reply(run, ["hello there", first, "why?"], max_new_tokens=8)
    monkeypatch.setattr("sys.stdin", io.StringIO("hello there\nwhy?\n\n"))
    assert main(["generate", str(run), "--chat", "--max-new-tokens", "8"]) == 0
    assert capsys.readouterr().out == f"you> bot> {first}\nyou> bot> {second}\nyou> "
