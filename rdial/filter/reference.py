"""The chain rules one chain at a time, in plain Python, the way DialoGPT's extractor works.

    python -c "from rdial.filter.reference import ReferenceRules; \
from rdial.filter.presets import load_filter_settings as l; \
print(ReferenceRules(l('dialogpt')).judge({'subreddit': 'a', 'turn_texts': ['hi there', 'ok then'], \
'turn_scores': [1, 1], 'turn_authors': ['x', 'y'], 'over_18': None}))"

This is the baseline of bench/bench_filter.py and the oracle the tests hold the vectorised
rules.py to: the same settings must give the same reason, weights and texts for every chain.
Python regexes and string checks per instance, as in reddit.py's get_convo/filter_instance.
"""

from __future__ import annotations

import re

from rdial.filter.normalize import URL, dialogpt_normalize, minimal_word_count
from rdial.filter.presets import FilterSettings

_BOUNDARY = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


class ReferenceRules:
    def __init__(self, settings: FilterSettings):
        self.s = settings
        self.offensive = settings.offensive_words()
        self.blocked = settings.blocked_subreddits()
        self.allowed = settings.allowed_subreddits()
        self.bots = settings.bots()
        self.common = set(settings.common_words())
        self.shouting = re.compile(f"[A-Z]{{{settings.shouting_caps},}}")
        self.markup = re.compile("[" + "".join(re.escape(c) for c in settings.markup_chars) + "]")

    def is_offensive(self, text: str) -> bool:
        low = text.lower()
        for word in self.offensive:
            start = low.find(word)
            while start >= 0:
                end = start + len(word)
                if ((start == 0 or low[start - 1] not in _BOUNDARY)
                        and (end == len(low) or low[end] not in _BOUNDARY)):
                    return True
                start = low.find(word, start + 1)
        return False

    def cut(self, chain: dict) -> tuple[list[int], bool]:
        """Indices of the turns kept (DialoGPT's get_convo) and whether the target is too long."""
        n = len(chain["turn_texts"])
        keep = list(range(n))
        if self.s.max_turns:
            keep = keep[-self.s.max_turns:]
        if not self.s.max_turn_words:
            return keep, False
        too_long = [minimal_word_count(chain["turn_texts"][i]) > self.s.max_turn_words for i in keep]
        start = 0
        for j in range(len(keep) - 1):  # ancestors only: the target's own length is a rule
            if too_long[j]:
                start = j + 1
        return keep[start:], too_long[-1]

    def judge(self, chain: dict) -> tuple[str | None, list[int], list[str], list[float]]:
        """-> (reason or None, kept turn indices, normalised texts, weights)."""
        s = self.s
        keep, long_target = self.cut(chain)
        texts = [chain["turn_texts"][i] for i in keep]
        if s.normalize == "dialogpt":
            norm = [dialogpt_normalize(t) for t in texts]
        else:
            norm = [" ".join(t.split()) for t in texts]
        weights = [0.0 if self.is_offensive(t) else 1.0 for t in norm]
        for rule in s.local_rules():
            if getattr(self, "rule_" + rule)(chain, keep, norm, weights, long_target):
                return rule, keep, norm, weights
        return None, keep, norm, weights

    # --- one method per rule: (chain, kept indices, normalised texts, weights, long target)
    def rule_bad_subreddit(self, c, keep, norm, w, lt):
        return (c["subreddit"] or "").lower() in self.blocked

    def rule_subreddit_not_allowed(self, c, keep, norm, w, lt):
        return bool(self.allowed) and (c["subreddit"] or "").lower() not in self.allowed

    def rule_nsfw(self, c, keep, norm, w, lt):
        return bool(c["over_18"])

    def rule_bot_author(self, c, keep, norm, w, lt):
        return any((c["turn_authors"][i] or "").lower() in self.bots for i in keep)

    def rule_low_score(self, c, keep, norm, w, lt):
        score = c["turn_scores"][keep[-1]] if keep else None
        return (0 if score is None else score) < self.s.min_score

    def rule_long_target(self, c, keep, norm, w, lt):
        return lt

    def rule_too_few_turns(self, c, keep, norm, w, lt):
        return len(keep) < self.s.min_turns

    def _lines(self, norm, w):
        """DialoGPT's src and tgt strings ("1.0 a EOS 1.0 b", "1.0 c")."""
        if not self.s.count_weight_tokens:
            return " ".join(norm[:-1]), norm[-1]
        if not self.s.tsv_weights:  # DialoGPT's test recipe: turns joined by EOS, no weights
            return " EOS ".join(norm[:-1]), norm[-1]
        turns = [("0.0" if x == 0 else "1.0") + " " + t for t, x in zip(norm, w)]
        return " EOS ".join(turns[:-1]), turns[-1]

    def rule_empty_target(self, c, keep, norm, w, lt):
        if self.s.count_weight_tokens and not self.s.tsv_weights:
            return len(norm[-1].split()) <= 1
        return len(norm[-1].split()) == 0

    def rule_long_word(self, c, keep, norm, w, lt):
        return any(len(tok) > self.s.max_word_chars for tok in norm[-1].split())

    def rule_too_long(self, c, keep, norm, w, lt):
        src, tgt = self._lines(norm, w)
        return len(src.split()) + len(tgt.split()) > self.s.max_total_words

    def rule_url(self, c, keep, norm, w, lt):
        texts = norm if self.s.url_scope == "all" else norm[-1:]
        if self.s.normalize == "dialogpt":
            return any(URL in t for t in texts)
        return any(re.search(f"(?i)http|{URL}", t) for t in texts)

    def rule_markup(self, c, keep, norm, w, lt):
        texts = norm if self.s.markup_scope == "all" else norm[-1:]
        return bool(self.s.markup_chars) and any(self.markup.search(t) for t in texts)

    def rule_shouting(self, c, keep, norm, w, lt):
        return any(self.shouting.search(t) for t in norm)

    def rule_repetition(self, c, keep, norm, w, lt):
        toks = self._lines(norm, w)[1].split() if self.s.count_weight_tokens and self.s.tsv_weights \
            else norm[-1].split(" ")
        r = self.s.repetition_run
        return any(all(toks[i] == toks[i - k] for k in range(1, r)) for i in range(r - 1, len(toks)))

    def rule_no_common_word(self, c, keep, norm, w, lt):
        return bool(self.common) and not any(t.lower() in self.common for t in norm[-1].split())

    def rule_offensive_target(self, c, keep, norm, w, lt):
        return w[-1] == 0
