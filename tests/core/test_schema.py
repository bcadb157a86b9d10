import random

import pyarrow as pa

from rdial.schema import bare_id, split_of, stable_hash, thread_bucket, thread_buckets


def test_bucket_is_a_literal_function_of_the_bare_id():
    # crc32 of the bare id: these literals must never change, or old corpora split threads.
    assert stable_hash("abc") == 891568578
    assert thread_bucket("t3_abc", 1024) == 891568578 % 1024 == thread_bucket("abc", 1024)
    assert thread_bucket("t3_2zxa6", 8) == stable_hash("2zxa6") % 8


def test_vectorised_buckets_match_scalar():
    ids = ["t3_abc", "abc", "t3_x", "t3_2zxa6", "t3_abc"]
    got = thread_buckets(pa.chunked_array([pa.array(ids[:2]), pa.array(ids[2:])]), 16).tolist()
    assert got == [thread_bucket(i, 16) for i in ids]
    assert thread_buckets(pa.array([], pa.string()), 16).tolist() == []


def test_bare_id():
    assert [bare_id(x) for x in ["t3_abc", "t1_c0299an", "abc", "t5_"]] == ["abc", "c0299an", "abc", "t5_"]


def test_split_is_stable_and_uses_fractions():
    assert split_of("t3_abc", (1.0, 0.0, 0.0)) == "train"
    assert split_of("t3_abc", (0.0, 0.0, 1.0)) == "test"
    assert split_of("t3_abc", (0.0, 1.0, 0.0)) == "valid"
    splits = [split_of(f"t3_{i:x}", (0.8, 0.1, 0.1)) for i in range(10000)]
    assert (splits.count("train"), splits.count("valid"), splits.count("test")) == (8035, 1009, 956)
    assert splits == [split_of(f"{i:x}", (0.8, 0.1, 0.1)) for i in range(10000)]


def test_fixed_threads_land_in_fixed_buckets():
    # Literal expectations: a change here would scatter every existing corpus's threads.
    ids = pa.array(["t3_17863", "17863", "t3_1afjd7n", "t3_n49rw", "t3_a", "t3_b"])
    assert thread_buckets(ids, 8).tolist() == [0, 0, 2, 3, 3, 1]
    assert thread_buckets(ids, 1024).tolist() == [632, 632, 890, 51, 579, 1017]


def test_vectorised_buckets_equal_the_reference_hash():
    rng = random.Random(3)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789_t\u00e9\U0001f600"
    ids = [rng.choice(["t3_", "t1_", "", ""]) + "".join(rng.choice(alphabet) for _ in range(rng.randrange(13)))
           for _ in range(20000)]
    for buckets in (1, 7, 8, 1024):
        assert thread_buckets(pa.array(ids), buckets).tolist() == [thread_bucket(i, buckets) for i in ids]
    assert thread_buckets(pa.array(ids).slice(100, 50), 8).tolist() == [thread_bucket(i, 8) for i in ids[100:150]]
