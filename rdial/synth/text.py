"""Comment and title text: Zipf-sampled words, sentence shape, and the oddities filters must meet.

    python -c "from rdial.synth.text import BodyMaker; import numpy as np; \
               print(BodyMaker().bodies(np.random.default_rng(0), 5)[0])"

Bodies are built from a fixed English vocabulary with Zipf weights, so the 50 most frequent
English words show up the way they do in real comments (function words first), most bodies have
3-30 words and a tail is long. On top of that a small share of bodies carries one planted
feature each (URL, `&gt;` quote, shouting, a >30-character token, unicode/emoji, paragraphs,
tripled words, markup, bland one-liners); `bodies` returns which, so the manifest can list ids.
"""

from __future__ import annotations

import numpy as np

# Function words, most frequent first: they carry most of the Zipf mass (DialoGPT's
# "top-50 English words" filter keeps a target only if it has one of these).
FUNCTION_WORDS = """the to and a of i it that is you in this for not be was on have but
with are they just like so if my what do can he as at or all would about think one there
me get people no we your an from more don't it's will their out up some when had been them
by how i'm only good really know time because his then than much make any also even very
why who see most well i've need could other way should which did go these now something
still being too over into thing lot sure pretty going never same yes where those right
here off back though many little before while better after does we're you're""".split()

CONTENT_WORDS = """game games car house money work job school music movie book books
friend friends family dog cat food water coffee beer city country world government law
president election war police state company market price prices internet computer
software code program programming linux windows apple google phone video picture site
website article story news paper science research study data problem problems question
answer idea point reason fact example case part place system power energy oil health
doctor hospital kid kids wife husband girlfriend boyfriend guy guys woman man men women
team player season coach fans ball ticket tickets week month year years day days night
morning weekend summer winter rain weather road trip travel hotel flight airport train
bike street store shop product design quality battery screen keyboard mouse server
network email account password update version feature bug fix test release build
history culture religion church god science theory evidence opinion argument comment
post thread subreddit upvote downvote karma reddit link source title community group
party policy tax taxes budget economy bank loan rent house apartment neighbor office
boss meeting project deadline plan chance luck mistake advice experience situation
health sleep dream mind heart body brain eye eyes hand hands face voice song album
band concert guitar piano drums art painting photo camera lens light color sound
word words language english book chapter author reader series episode show character
ending plot scene actor director film theater stage joke humor sense fun reason
simple hard easy fast slow big small old new great bad best worst true false real
free cheap expensive important interesting funny weird strange crazy stupid smart
nice cool awesome amazing terrible horrible beautiful ugly happy sad angry tired
busy ready sorry wrong different similar possible impossible likely obvious clear
honest serious actual whole entire local national public private social personal
agree disagree believe remember forget understand explain learn teach read write
watch play buy sell pay spend save change keep start stop try use find give take
tell ask call feel seem look want love hate hope wish wait win lose move live die
happen help leave meet run walk talk turn show bring hold follow create open close
probably definitely actually basically literally maybe usually always sometimes
often almost already again together instead enough quite rather especially exactly
""".split()

BLAND = ["lol", "This.", "Thanks!", "I don't know.", "Yes.", "No.", "Same here.",
         "Thank you so much!", "I agree.", "Me too.", "Good point.", "What?", "Source?",
         "haha", "Nice.", "Exactly.", "Ok.", "I don't know what you mean."]

BOT_AUTHORS = ["AutoModerator", "RemindMeBot", "WikiTextBot", "sneakpeekbot", "autotldr",
               "TweetsInCommentsBot", "RepostSleuthBot", "timezone_bot"]

BOT_BODIES = [
    "Your submission has been automatically removed because your account is too new. "
    "Please message the moderators if you believe this is an error.\n\n*I am a bot, and this "
    "action was performed automatically. Please [contact the moderators of this subreddit]"
    "(/message/compose/?to=/r/{sub}) if you have any questions or concerns.*",
    "I will be messaging you in 2 days on [2019-10-12 10:00:00 UTC](http://www.wolframalpha.com/"
    "input/?i=2019-10-12%2010:00:00%20UTC%20To%20Local%20Time) to remind you of this link",
    "**[{word}](https://en.wikipedia.org/wiki/{word})**\n\n{text}\n\n---\n^[ ^PM ^| "
    "^Exclude ^me ^| ^FAQ ^/ ^Information ^| ^Source ^] ^Downvote ^to ^remove ^| ^v0.28",
    "Here's a sneak peek of /r/{sub} using the [top posts](https://np.reddit.com/r/{sub}/top/"
    "?sort=top&t=year) of the year!\n\n^^I'm ^^a ^^bot, ^^beep ^^boop",
    "This is the best tl;dr I could make, [original](http://example.com/{word}) reduced by 82%. "
    "(I'm a bot)\n*****\n&gt; {text}",
]

URL_DOMAINS = ["imgur.com", "i.imgur.com", "youtube.com", "en.wikipedia.org", "nytimes.com",
               "github.com", "bbc.co.uk", "example.com", "news.ycombinator.com", "reddit.com"]

SHOUTS = ["WHAT", "NEVER", "AMAZING", "SERIOUSLY", "STOP", "THIS IS INSANE", "HELL YES",
          "ABSOLUTELY", "NOOOOO", "WOW"]

LONG_TOKENS = ["hahahahahahahahahahahahahahahahahahahaha", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
               "supercalifragilisticexpialidociouslyamazing",
               "pneumonoultramicroscopicsilicovolcanoconiosis",
               "http://www.example.com/a/really/long/path/without/spaces/at/all"]

UNICODE = ["café", "naïve", "über", "señor", "日本語", "😂", "👍", "🙂", "—", "“quoted”",
           "…", "Ελληνικά", "русский", "🔥🔥", "¯\\_(ツ)_/¯"]

OPENERS = ["", "", "", "", "I think", "Yeah, but", "Honestly,", "Well,", "To be fair,",
           "IMO", "Not really,", "Actually", "lol", "So"]

# Features a body may carry; the order is the order of the columns in `plant_mask`.
FEATURES = ("url", "quote", "shouting", "long_word", "unicode", "newlines", "repetition",
            "markup", "bland")
FEATURE_RATES = (0.02, 0.02, 0.015, 0.005, 0.02, 0.05, 0.005, 0.01, 0.03)


class BodyMaker:
    """Makes comment bodies and titles from numpy random draws and cheap string joins."""

    def __init__(self) -> None:
        self.words = FUNCTION_WORDS + CONTENT_WORDS
        n_func = len(FUNCTION_WORDS)
        ranks = np.arange(1, len(self.words) + 1, dtype=np.float64)
        weights = 1.0 / ranks ** 1.05
        weights[n_func:] *= 1.8          # content words a bit heavier than pure Zipf
        self.p = weights / weights.sum()
        self.cdf = np.cumsum(self.p)

    def word_ids(self, rng: np.random.Generator, n: int) -> np.ndarray:
        ids = np.searchsorted(self.cdf, rng.random(n), side="right")
        return np.minimum(ids, len(self.words) - 1)

    def lengths(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Words per body: lognormal, median ~11; ~7% over 30 words, capped at 400."""
        lens = np.exp(rng.normal(2.4, 0.75, n)).astype(np.int64)
        return np.clip(lens, 1, 400)

    def plant_mask(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """(n,) int8: -1 plain body, else the index of the one feature planted in it."""
        u = rng.random(n)
        edges = np.cumsum(FEATURE_RATES)
        feat = np.searchsorted(edges, u, side="right")
        return np.where(feat < len(FEATURES), feat, -1).astype(np.int8)

    def bodies(self, rng: np.random.Generator, n: int, features: np.ndarray | None = None
               ) -> list[str]:
        """`n` bodies; `features[i]` (from `plant_mask`) says what to plant in body i."""
        if features is None:
            features = np.full(n, -1, dtype=np.int8)
        lens = self.lengths(rng, n)
        ids = self.word_ids(rng, int(lens.sum()))
        words = self.words
        tokens = [words[i] for i in ids.tolist()]
        ends = np.cumsum(lens).tolist()
        extra = rng.integers(0, 1 << 30, size=n).tolist()
        openers = rng.integers(0, len(OPENERS), size=n).tolist()
        feats = features.tolist()
        out = []
        start = 0
        for i in range(n):
            end = ends[i]
            body = self._sentence(tokens[start:end], OPENERS[openers[i]])
            f = feats[i]
            if f >= 0:
                body = self._plant(FEATURES[f], body, tokens[start:end], extra[i])
            out.append(body)
            start = end
        return out

    @staticmethod
    def _sentence(toks: list[str], opener: str) -> str:
        if len(toks) > 14:   # break long bodies into sentences
            toks = list(toks)
            for j in range(12, len(toks) - 1, 13):
                toks[j] = toks[j] + "."
                toks[j + 1] = toks[j + 1].capitalize()
        text = " ".join(toks)
        if opener:
            text = opener + " " + text
        mark = "?" if len(toks) % 7 == 3 else ("!" if len(toks) % 11 == 5 else ".")
        return text[:1].upper() + text[1:] + mark

    def _plant(self, feature: str, body: str, toks: list[str], r: int) -> str:
        w = toks[r % len(toks)]
        if feature == "url":
            dom = URL_DOMAINS[r % len(URL_DOMAINS)]
            return f"{body} http://www.{dom}/{w}{r % 9973}"
        if feature == "quote":
            return f"&gt; {' '.join(toks[:4])}\n\n{body}"
        if feature == "shouting":
            return f"{SHOUTS[r % len(SHOUTS)]} {body}"
        if feature == "long_word":
            return f"{body} {LONG_TOKENS[r % len(LONG_TOKENS)]}"
        if feature == "unicode":
            return f"{body} {UNICODE[r % len(UNICODE)]}"
        if feature == "newlines":
            return f"{body}\n\n{' '.join(toks[::-1]).capitalize()}.\n\nEdit: {w}"
        if feature == "repetition":
            return f"{body} {w} {w} {w}"
        if feature == "markup":
            return f"[{w}](/r/{w}) {body}"
        return BLAND[r % len(BLAND)]  # bland

    def title(self, rng: np.random.Generator, n: int) -> list[str]:
        lens = rng.integers(3, 15, size=n)
        ids = self.word_ids(rng, int(lens.sum())).tolist()
        ends = np.cumsum(lens).tolist()
        out, start = [], 0
        for end in ends:
            t = " ".join(self.words[i] for i in ids[start:end])
            out.append(t[:1].upper() + t[1:])
            start = end
        return out
