"""Reference and hypothesis readers, the reference protocol, and their one-line errors."""

import pytest

from rdial.errors import InputError
from rdial.eval.hypotheses import read_systems
from rdial.eval.references import cycle_references, read_references, reference_lists


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_cycling_fills_every_item_to_the_same_count():
    assert cycle_references(["a"], 6) == ["a"] * 6
    assert cycle_references(["a", "b", "c", "d"], 6) == ["a", "b", "c", "d", "a", "b"]
    assert cycle_references(list("abcdefgh"), 6) == list("abcdef")
    # DSTC7's --vshuman 1: index 1 moves to index 2
    assert cycle_references(["a", "b", "c", "d"], 6, exclude=1) == ["a", "c", "c", "d", "a", "c"]
    assert cycle_references(["a", "b"], 3, exclude=1) == ["a", "a", "a"]


def test_three_formats_are_told_apart(tmp_path):
    gold = read_references(write(tmp_path / "g.tsv", "InstanceID\tReference1\t...\nk1\tx y\tz\nk2\t\n"))
    assert gold.format == "dstc7-gold"
    assert [(i.key, i.context, i.refs) for i in gold.items] == [("k1", [], ["x y", "z"]), ("k2", [], [""])]
    dialogpt = read_references(write(tmp_path / "test.refs.txt",
                                     "0.0 hi EOS 1.0 there\t7|a | b\t1.5|c\n"))
    assert dialogpt.format == "dialogpt"
    assert (dialogpt.items[0].context, dialogpt.items[0].refs) == (["hi", "there"], ["a | b", "c"])
    multi = read_references(write(tmp_path / "m.tsv", "what now EOS why\tr1\tr2\r\nsecond\tr3\n"))
    assert multi.format == "multiref"
    assert [(i.key, i.context, i.refs) for i in multi.items] == [("1", ["what now", "why"], ["r1", "r2"]),
                                                                ("2", ["second"], ["r3"])]
    assert reference_lists(multi, 3) == [["r1", "r2", "r1"], ["r3"] * 3]
    assert reference_lists(multi, None) == [["r1", "r2"], ["r3"]]


def test_bad_reference_files_name_file_and_line(tmp_path):
    with pytest.raises(InputError, match=r"j.txt:1: unknown reference format"):
        read_references(write(tmp_path / "j.txt", '{"a": 1}\n'))
    with pytest.raises(InputError, match=r"m.tsv:2: no reference on this line"):
        read_references(write(tmp_path / "m.tsv", "c\tr\nlonely\n"))
    with pytest.raises(InputError, match=r"d.txt:2: field 'plain' is not score\|reference"):
        read_references(write(tmp_path / "d.txt", "c\t1|r\nc\tplain\n"))
    with pytest.raises(InputError, match=r"g.tsv:3: InstanceID k already on line 2"):
        read_references(write(tmp_path / "g.tsv", "InstanceID\tReference1\nk\tr\nk\tq\n"))
    (tmp_path / "b.tsv").write_bytes(b"c\tr\n\xff\tx\n")
    with pytest.raises(InputError, match=r"b.tsv:2: not UTF-8"):
        read_references(tmp_path / "b.tsv")
    with pytest.raises(InputError, match=r"e.tsv: empty"):
        read_references(write(tmp_path / "e.tsv", ""))


def test_hypotheses_plain_and_dstc7(tmp_path):
    refs = read_references(write(tmp_path / "g.tsv", "InstanceID\tReference1\nk1\tr\nk2\tq\n"))
    plain = read_systems(write(tmp_path / "beam.txt", "one\n\n"), refs)
    assert [(s.name, s.hyps) for s in plain] == [("beam", ["one", ""])]  # an empty reply is kept
    with pytest.raises(InputError, match=r"short.txt: 1 hypotheses but .*g.tsv holds 2 items"):
        read_systems(write(tmp_path / "short.txt", "one\n"), refs)
    table = "SystemID\tInstanceID\tResponse\nA\tk2\tb2\nB\tk1\tc1\nA\tk1\ta1\nB\tk2\tc2\n"
    systems = read_systems(write(tmp_path / "sys.tsv", table), refs)
    assert [(s.name, s.hyps) for s in systems] == [("A", ["a1", "b2"]), ("B", ["c1", "c2"])]
    with pytest.raises(InputError, match=r"sys2.tsv: system A answers 1 of the 2 items .*no response to InstanceID k2"):
        read_systems(write(tmp_path / "sys2.tsv", "SystemID\tInstanceID\tResponse\nA\tk1\tx\n"), refs)
    with pytest.raises(InputError, match=r"sys3.tsv:2: InstanceID zz is not in"):
        read_systems(write(tmp_path / "sys3.tsv", "SystemID\tInstanceID\tResponse\nA\tzz\tx\n"), refs)


def test_multiref_written_with_weights_loses_them(tmp_path):
    multi = read_references(write(tmp_path / "w.tsv", "0.0 hi EOS 1.0 there\t1.0 r one\t1.0 r two\n"))
    assert (multi.items[0].context, multi.items[0].refs) == (["hi", "there"], ["r one", "r two"])
    plain = read_references(write(tmp_path / "p.tsv", "hi EOS there\t1.0 is a number\n"))
    assert plain.items[0].refs == ["1.0 is a number"]
