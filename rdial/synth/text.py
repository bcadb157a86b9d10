"""Comment and title text: template sentences, and the oddities filters must meet.

    python -c "from rdial.synth.text import BodyMaker; import numpy as np; \
               print(BodyMaker().bodies(np.random.default_rng(0), 5)[0])"

Bodies are sentences from a small grammar (TEMPLATES over word categories in SLOTS, picks
skewed to the head of each list), so common English words appear the way they do in real
comments (over 90% of bodies hold one of the 50 most frequent English words), ~80% of bodies
have 3-30 words and a tail is long. On top of that ~17% of bodies carry one planted feature
each (URL, `&gt;` quote, shouting, a >30-character token, unicode/emoji, paragraphs, tripled
words, markup, bland one-liners), chosen by `plant_mask` so the manifest can list their ids.
"""

from __future__ import annotations

import numpy as np

# Function words, most frequent first, and content words (nouns, then adjectives, verbs,
# adverbs): the nouns and adjectives fill the N and A slots; all of them make author names.
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

OPENERS = ["Yeah,", "Honestly,", "Well,", "To be fair,", "IMO", "Not really,", "Actually,",
           "lol", "So", "Wait,", "Edit:", "Same,", "Ok so", "Man,"]

# A tiny grammar: slot categories, and sentence templates made of slots and literal words.
SLOTS = {
    "P": "I you we they people everyone he she my friend".split(),
    "V": ("think know like want need love hate see try use buy get play watch read remember "
          "understand agree believe miss find keep sell fix learn explain say feel hear pay").split(),
    "D": "the the the a a this that my your his their every some no our".split(),
    "M": "would should could will can might".split(),
    "R": ("really actually probably just pretty so totally never always definitely basically "
          "honestly literally kind of sort of still").split(),
    "Pr": "in on at with about for from after before without like than over into".split(),
    "C": "and but because so although or since while".split(),
    "Q": "why how what where when who".split(),
    "X": "yesterday today again here there now too anyway though lol".split(),
}
SLOTS["N"] = CONTENT_WORDS[:CONTENT_WORDS.index("simple")]
SLOTS["A"] = CONTENT_WORDS[CONTENT_WORDS.index("simple"):CONTENT_WORDS.index("agree")]
SLOTS["Vd"] = ("thought said bought tried saw used played watched read got made found lost "
               "sold fixed learned heard paid missed loved hated liked wanted needed").split()

TEMPLATES = [
    "P R V D N", "D N is R A", "P Vd D A N Pr D N", "Q do P V D N ?", "I think D N is A C P V D N",
    "this is the A N P Vd Pr D N", "P M V D N", "R A", "if P V D N , P M V D A N",
    "the N Pr D N was A", "P don't V D N", "my N Vd D N X", "it's A how D N Vd",
    "thanks for D N", "have P Vd D N ?", "that's a A N", "I have never Vd D N Pr D N",
    "D N is A C D N is A", "P can't V D N R", "what about D N ?", "P Vd it X",
    "I Vd D A N C it was R A", "Q is D N so A ?", "P M R V D N Pr D N", "not D N again",
    "I'm R A about D N", "you M V it Pr D N", "D N Vd R A", "P V that , R", "source ?",
    "P Vd D N C P Vd D N", "it was A", "good N", "I Vd D N X and P Vd it",
    'P said "no" and P Vd D N', 'the so-called "experts" V D N',
]


class SentenceTemplate:
    """A template compiled to a format string: "D N is R A" -> "{} {} is {} {}." (+ slot list)."""

    def __init__(self, spec: str) -> None:
        parts = spec.split()
        self.slots = [p for p in parts if p in SLOTS]
        self.first_is_slot = parts[0] in SLOTS
        words: list[str] = []
        for p in parts:
            if p in SLOTS:
                words.append("{}")
            elif p == ",":
                words[-1] += ","
            elif p != "?":
                words.append(p)
        text = " ".join(words)
        if not self.first_is_slot:
            text = text[:1].upper() + text[1:]
        self.fmt = text + ("?" if parts[-1] == "?" else ".")


_TEMPLATES = [SentenceTemplate(t) for t in TEMPLATES]
_SLOT_WORDS = {k: np.array(v, dtype=object) for k, v in SLOTS.items()}
_SLOT_WORDS_CAP = {k: np.array([w[:1].upper() + w[1:] for w in v], dtype=object)
                   for k, v in SLOTS.items()}

# Features a body may carry; the order is the order of the columns in `plant_mask`.
FEATURES = ("url", "quote", "shouting", "long_word", "unicode", "newlines", "repetition",
            "markup", "bland")
FEATURE_RATES = (0.02, 0.02, 0.015, 0.005, 0.02, 0.05, 0.005, 0.01, 0.03)
LONG_BODY_RATE = 0.07          # bodies of 5-30 sentences (a long tail of words)


class BodyMaker:
    """Makes comment bodies and titles from numpy random draws and cheap string joins.

    A body is mostly 1-3 template sentences (7% of bodies: 5-30), each slot filled with a word
    of its category, skewed to the category's first words (Zipf-like), 1 in 6 with an opener.
    """

    def __init__(self) -> None:
        self.words = FUNCTION_WORDS + CONTENT_WORDS     # also the stuff of author names

    def sentence_counts(self, rng: np.random.Generator, n: int) -> np.ndarray:
        counts = rng.geometric(0.5, n)
        long = rng.random(n) < LONG_BODY_RATE
        counts[long] = rng.integers(5, 31, int(long.sum()))
        return np.minimum(counts, 30)

    def plant_mask(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """(n,) int8: -1 plain body, else the index of the one feature planted in it."""
        u = rng.random(n)
        edges = np.cumsum(FEATURE_RATES)
        feat = np.searchsorted(edges, u, side="right")
        return np.where(feat < len(FEATURES), feat, -1).astype(np.int8)

    def sentences(self, rng: np.random.Generator, k: int) -> list[str]:
        """`k` capitalised, punctuated sentences; filled template by template, in numpy."""
        tpl = rng.integers(0, len(_TEMPLATES), k)
        order = np.argsort(tpl, kind="stable")
        out = np.empty(k, dtype=object)
        pos = 0
        for t, count in enumerate(np.bincount(tpl, minlength=len(_TEMPLATES)).tolist()):
            if count == 0:
                continue
            rows = order[pos:pos + count]
            pos += count
            template = _TEMPLATES[t]
            columns = []
            for j, slot in enumerate(template.slots):
                words = (_SLOT_WORDS_CAP if j == 0 and template.first_is_slot else _SLOT_WORDS)[slot]
                # u**1.7 skews choices towards the head of each list (Zipf-like word use)
                idx = (rng.random(count) ** 1.7 * len(words)).astype(np.int64)
                columns.append(words[idx].tolist())
            out[rows] = list(map(template.fmt.format, *columns)) if columns else [template.fmt] * count
        sentences = out.tolist()
        for i in np.flatnonzero(rng.random(k) < 0.06).tolist():
            if sentences[i].endswith("."):
                sentences[i] = sentences[i][:-1] + "!"
        return sentences

    def bodies(self, rng: np.random.Generator, n: int, features: np.ndarray | None = None
               ) -> list[str]:
        """`n` bodies; `features[i]` (from `plant_mask`) says what to plant in body i."""
        if features is None:
            features = np.full(n, -1, dtype=np.int8)
        counts = self.sentence_counts(rng, n)
        sents = self.sentences(rng, int(counts.sum()))
        # join all sentences once, then cut each body out by character offsets
        text = " ".join(sents)
        lens = np.fromiter(map(len, sents), dtype=np.int64, count=len(sents))
        ends = np.cumsum(lens + 1) - 1                    # end of sentence j in `text`
        last = np.cumsum(counts) - 1                      # last sentence of each body
        starts = (ends - lens)[last - counts + 1]
        out = [text[a:b] for a, b in zip(starts.tolist(), ends[last].tolist())]
        extra = rng.integers(0, 1 << 30, size=n)
        opener = rng.integers(0, len(OPENERS) * 6, size=n)       # 1 in 6 bodies has one
        for i in np.flatnonzero(opener < len(OPENERS)).tolist():
            body = out[i]
            out[i] = OPENERS[opener[i]] + " " + body[:1].lower() + body[1:]
        for i in np.flatnonzero(features >= 0).tolist():
            out[i] = self._plant(FEATURES[features[i]], out[i], int(extra[i]))
        return out

    def _plant(self, feature: str, body: str, r: int) -> str:
        toks = body.split()
        w = toks[r % len(toks)].strip('.,?!"')
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
            return f"{body}\n\n{' '.join(toks[:6])}\n\nEdit: {w}"
        if feature == "repetition":
            return f"{body} {w} {w} {w}"
        if feature == "markup":
            return f"[{w}](/r/{w}) {body}"
        return BLAND[r % len(BLAND)]  # bland

    def title(self, rng: np.random.Generator, n: int) -> list[str]:
        """Titles: one or two sentences, the last punctuation dropped half of the time."""
        counts = 1 + (rng.random(n) < 0.2)
        sents = self.sentences(rng, int(counts.sum()))
        cut = (rng.random(n) < 0.5).tolist()
        out, start = [], 0
        for c, drop in zip(counts.tolist(), cut):
            t = " ".join(sents[start:start + c])
            out.append(t[:-1] if drop and t.endswith(".") else t)
            start += c
        return out
