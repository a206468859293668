"""The demo platform `make run` loads: VidShare, a video platform, over the last 90 days.

Everything is written through `moderation.services`, as a platform's own data would be. The
story the data tells, so that statistics and pages have something to show:

- the hate-speech classifier v1 (threshold 0.80) reads chess commentary as racial hostility
  ("white knight captures black queen"): a quarter of what it catches is chess, and most of
  those restrictions are reversed by a human moderator on a second review;
- v2 (threshold 0.85), released half-way through the window, no longer catches chess talk,
  and its reversal rate falls to that of the other models;
- around them the ordinary mix: spam bots, nudity, harassment, copyright notices,
  misinformation, legal orders; shadowbans (demotion, exclusion from search and from
  recommendations, hidden from non-followers), removals, demonetisation, suspensions and bans,
  and the expiries of the temporary ones.

Generation is deterministic for a seed and a window: one `random.Random(seed)` draws
everything, in a fixed order.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.db import transaction

from moderation import services
from moderation.models import Platform
from moderation.schemas import ContentId, DecisionIn, Subject
from moderation.vocabulary import (
    AccountAction,
    AccountType,
    AutomatedDecision,
    Category,
    ContentType,
    Country,
    DecisionType,
    Ground,
    Keyword,
    Language,
    Monetary,
    Provision,
    Source,
    Visibility,
)

T = TypeVar("T")

BATCH_SIZE = 1000
RECEIVED_AFTER = dt.timedelta(minutes=5)

# What hate-speech v1 mistakes for racial hostility. Only chess decisions, and the reviews and
# reversals of them, quote these; `chess_talk` tells them apart by it.
CHESS_PHRASES = (
    "white knight captures black queen",
    "black bishop takes white pawn",
    "white attacks the black king",
    "black rook destroys white's defence",
    "white pawn storm against black",
    "black knight forks the white king and rook",
    "white queen hunts down the black king",
    "sacrifice the white bishop to expose black",
)
# The share of hate-speech v1's catches that are chess talk, and how often its chess
# restrictions are overturned on a second review (the public experiment found over 80% false
# positives).
CHESS_SHARE_V1 = 0.25
CHESS_REVERSAL_RATE = 0.85

HATE_MODEL = "hate-speech"
SPAM_MODEL = "spam-detector"
NUDITY_MODEL = "nudity-classifier"

_GUIDELINES = "https://vidshare.example/community-guidelines"
_MODEL_CARDS = "https://vidshare.example/transparency/models"


def chess_talk(text: str) -> bool:
    """Whether a decision's text quotes chess commentary."""
    return any(phrase in text for phrase in CHESS_PHRASES)


@dataclass(frozen=True, slots=True)
class Timeline:
    """The window the demo covers and the moments in it the story turns on."""

    start: dt.datetime
    end: dt.datetime
    hate_v2_from: dt.datetime
    harassment_v2_from: dt.datetime

    @classmethod
    def ending(cls, end: dt.datetime, *, days: int) -> Timeline:
        start = end - dt.timedelta(days=days)
        return cls(
            start=start,
            end=end,
            hate_v2_from=_midnight(start.date() + dt.timedelta(days=days // 2)),
            harassment_v2_from=_midnight(start.date() + dt.timedelta(days=days // 3)),
        )

    def day(self, offset: int) -> dt.date:
        return self.start.date() + dt.timedelta(days=offset)


# --- the platform's rules and models ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicySpec:
    key: str
    version: int
    title: str
    category: Category
    ground: Ground
    clause: str
    url: str
    summary: str
    keywords: tuple[str, ...]
    # What the decision says about the content, for decisions under this policy.
    explanation: str


POLICIES = (
    PolicySpec(
        key="hate-speech",
        version=1,
        title="Hateful conduct",
        category=Category.ILLEGAL_OR_HARMFUL_SPEECH,
        ground=Ground.INCOMPATIBLE_CONTENT,
        clause="VidShare Community Guidelines §4.2 (Hateful conduct)",
        url=f"{_GUIDELINES}#hateful-conduct",
        summary="No content that attacks or dehumanises people for a protected characteristic.",
        keywords=("HATE_SPEECH", "INCITEMENT_VIOLENCE_HATRED", "DISCRIMINATION"),
        explanation="Language that attacks people on the basis of race, ethnicity or religion.",
    ),
    PolicySpec(
        key="harassment",
        version=1,
        title="Harassment and bullying",
        category=Category.CYBER_VIOLENCE,
        ground=Ground.INCOMPATIBLE_CONTENT,
        clause="VidShare Community Guidelines §4.3 (Harassment and bullying)",
        url=f"{_GUIDELINES}#harassment",
        summary="No threats, insults or intimidation aimed at an identifiable person.",
        keywords=("CYBER_HARASSMENT", "CYBER_BULLYING_INTIMIDATION", "CYBER_STALKING"),
        explanation="Repeated insults and intimidation aimed at an identifiable person.",
    ),
    PolicySpec(
        key="harassment",
        version=2,
        title="Harassment, bullying and coordinated harassment",
        category=Category.CYBER_VIOLENCE,
        ground=Ground.INCOMPATIBLE_CONTENT,
        clause="VidShare Community Guidelines §4.3 (Harassment, bullying and brigading)",
        url=f"{_GUIDELINES}#harassment",
        summary="Adds coordinated harassment (brigading) and publishing private details.",
        keywords=("CYBER_HARASSMENT", "CYBER_BULLYING_INTIMIDATION", "COORDINATED_HARM"),
        explanation="Insults, intimidation or a coordinated pile-on aimed at a person.",
    ),
    PolicySpec(
        key="spam-scams",
        version=1,
        title="Spam, scams and deceptive practices",
        category=Category.SCAMS_AND_FRAUD,
        ground=Ground.INCOMPATIBLE_CONTENT,
        clause="VidShare Community Guidelines §6.1 (Spam, scams and deceptive practices)",
        url=f"{_GUIDELINES}#spam",
        summary="No phishing, pyramid schemes, fake giveaways, bot accounts or hijacked channels.",
        keywords=("PHISHING", "PYRAMID_SCHEMES", "INAUTHENTIC_ACCOUNTS"),
        explanation="Links and messages built to take viewers' money or credentials.",
    ),
    PolicySpec(
        key="adult-nudity",
        version=1,
        title="Nudity and sexual content",
        category=Category.OTHER_VIOLATION_TC,
        ground=Ground.INCOMPATIBLE_CONTENT,
        clause="VidShare Community Guidelines §5.3 (Nudity and sexual content)",
        url=f"{_GUIDELINES}#nudity",
        summary="No sexually explicit content; some nudity is age-restricted, not removed.",
        keywords=("NUDITY", "ADULT_SEXUAL_MATERIAL"),
        explanation="Nudity or sexual content beyond what the guidelines allow.",
    ),
    PolicySpec(
        key="copyright",
        version=1,
        title="Copyright",
        category=Category.INTELLECTUAL_PROPERTY_INFRINGEMENTS,
        ground=Ground.ILLEGAL_CONTENT,
        clause="VidShare Terms of Service §9 (Copyright); Directive (EU) 2019/790, Art. 17",
        url="https://vidshare.example/terms#copyright",
        summary="Content that infringes copyright is disabled or removed on notice.",
        keywords=("COPYRIGHT_INFRINGEMENT", "TRADEMARK_INFRINGEMENT"),
        explanation="Uses a protected work without the rights holder's permission.",
    ),
    PolicySpec(
        key="misinformation",
        version=1,
        title="Harmful misinformation",
        category=Category.NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS,
        ground=Ground.INCOMPATIBLE_CONTENT,
        clause="VidShare Community Guidelines §5.1 (Harmful misinformation)",
        url=f"{_GUIDELINES}#misinformation",
        summary="False claims about elections and public health are labelled, demoted or removed.",
        keywords=("MISINFORMATION_DISINFORMATION",),
        explanation="False claims about voting or public health, contradicted by authorities.",
    ),
)
_POLICY = {(p.key, p.version): p for p in POLICIES}


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    version: str
    threshold: float
    # Days after the window's start; negative: released before it.
    released_day: int
    card_url: str


def model_specs(days: int) -> tuple[ModelSpec, ...]:
    return (
        ModelSpec(HATE_MODEL, "v1", 0.80, 0, f"{_MODEL_CARDS}/hate-speech/v1"),
        ModelSpec(HATE_MODEL, "v2", 0.85, days // 2, f"{_MODEL_CARDS}/hate-speech/v2"),
        ModelSpec(SPAM_MODEL, "v3", 0.90, -120, f"{_MODEL_CARDS}/spam-detector/v3"),
        ModelSpec(NUDITY_MODEL, "v2", 0.75, -60, f"{_MODEL_CARDS}/nudity-classifier/v2"),
    )


# --- seeding -------------------------------------------------------------------------------------


# Who the audit trail names for everything the demo writes.
ACTOR = "manage.py seed_demo"


@dataclass(frozen=True, slots=True)
class Seeded:
    platform: Platform
    decisions: int
    api_key_prefix: str
    api_key: str


@transaction.atomic
def seed_demo(
    *,
    slug: str,
    name: str,
    decisions: int,
    days: int,
    seed: int,
    end: dt.datetime,
    progress: Callable[[int], None] | None = None,
) -> Seeded:
    """Register the demo platform's policies and models, record `decisions` decisions over the
    `days` before `end`, and issue an API key.

    One transaction: a failure half-way leaves nothing behind, so the next run starts afresh.
    """
    platform = Platform.objects.filter(slug=slug).first() or services.create_platform(
        slug=slug, name=name, actor=ACTOR
    )
    timeline = Timeline.ending(end, days=days)
    for p in POLICIES:
        services.register_policy(
            platform=platform,
            key=p.key,
            version=p.version,
            title=p.title,
            category=p.category,
            ground=p.ground,
            clause=p.clause,
            url=p.url,
            summary=p.summary,
            actor=ACTOR,
        )
    specs = model_specs(days)
    for m in specs:
        services.register_model_version(
            platform=platform,
            name=m.name,
            version=m.version,
            released_at=timeline.day(m.released_day),
            threshold=m.threshold,
            card_url=m.card_url,
            actor=ACTOR,
        )
    items = generate(count=decisions, timeline=timeline, seed=seed, models=specs)
    done = 0
    for batch in in_batches(items, BATCH_SIZE):
        # As a platform sends them: each day's decisions a few minutes after that day's last,
        # so the ledger's days of receipt (what public statistics count by) span the 90 days.
        for _, day in itertools.groupby(batch, key=lambda d: _decided(d).date()):
            sent = list(day)
            received = min(max(_decided(d) for d in sent) + RECEIVED_AFTER, end)
            services.record_decisions(
                platform=platform, decisions=sent, actor=ACTOR, received_at=received
            )
        done += len(batch)
        if progress is not None:
            progress(done)
    api_key, plaintext = services.issue_api_key(platform=platform, name="demo", actor=ACTOR)
    return Seeded(platform, done, api_key.prefix, plaintext)


def _decided(decision: DecisionIn) -> dt.datetime:
    assert decision.decided_at is not None  # the demo dates every decision
    return decision.decided_at.astimezone(dt.UTC)


def in_batches(decisions: Iterable[DecisionIn], size: int) -> Iterator[list[DecisionIn]]:
    """Cut time-ordered decisions into batches of at most `size`, holding a decision that
    supersedes another back until a batch after the one that records its original.

    `record_decisions` resolves `supersedes_puid` only against decisions already recorded, so a
    reversal cannot travel in the same batch as the restriction it reverses.
    """
    recorded: set[str] = set()
    batch: list[DecisionIn] = []
    waiting: list[DecisionIn] = []

    def ready(d: DecisionIn) -> bool:
        return d.supersedes_puid is None or d.supersedes_puid in recorded

    def cut() -> list[DecisionIn]:
        nonlocal batch, waiting
        out, batch = batch[:size], batch[size:]
        recorded.update(d.puid for d in out)
        batch.extend(d for d in waiting if ready(d))
        waiting = [d for d in waiting if not ready(d)]
        return out

    for d in decisions:
        (batch if ready(d) else waiting).append(d)
        while len(batch) >= size:
            yield cut()
    while batch:
        yield cut()
    if waiting:
        raise ValueError(f"{len(waiting)} decisions supersede decisions that are not recorded.")


# --- generation ----------------------------------------------------------------------------------


def generate(
    *, count: int, timeline: Timeline, seed: int, models: Sequence[ModelSpec]
) -> list[DecisionIn]:
    """`count` decisions inside the timeline's window, oldest first, each one valid for
    `record_decisions` once the decisions before it are recorded."""
    thresholds = {(m.name, m.version): m.threshold for m in models}
    return _Generator(random.Random(seed), timeline, count, thresholds).run()


class _Weighted(Generic[T]):
    """A weighted choice, drawn with one `random()`: `Random.choices` costs several times more,
    and the generator draws a few hundred thousand times."""

    __slots__ = ("cum", "items", "last")

    def __init__(self, pairs: Iterable[tuple[T, float]]) -> None:
        items, weights = zip(*pairs, strict=True)
        self.items: tuple[T, ...] = items
        self.cum = list(itertools.accumulate(weights))
        self.last = len(self.items) - 1

    def pick(self, rng: random.Random) -> T:
        return self.items[bisect.bisect(self.cum, rng.random() * self.cum[-1], 0, self.last)]


@dataclass(frozen=True, slots=True)
class _Kind:
    """A kind of content on VidShare and how its ids look."""

    content_type: tuple[ContentType, ...]
    other: str | None
    prefix: str
    noun: str


_VIDEO = _Kind((ContentType.VIDEO,), None, "v", "video")
_COMMENT = _Kind((ContentType.TEXT,), None, "c", "comment")
_THUMBNAIL = _Kind((ContentType.IMAGE,), None, "t", "thumbnail")
_AUDIO = _Kind((ContentType.AUDIO,), None, "a", "audio track")
_SYNTHETIC = _Kind((ContentType.SYNTHETIC_MEDIA, ContentType.VIDEO), None, "v", "AI-made video")
_LIVE = _Kind((ContentType.OTHER,), "Livestream", "l", "livestream")
_POST = _Kind((ContentType.TEXT, ContentType.IMAGE), None, "p", "community post")
_CHANNEL = _Kind((ContentType.OTHER,), "Channel (account)", "", "channel")

_ANY_KIND = _Weighted(
    [
        (_VIDEO, 55),
        (_COMMENT, 22),
        (_THUMBNAIL, 7),
        (_AUDIO, 3),
        (_SYNTHETIC, 4),
        (_LIVE, 6),
        (_POST, 3),
    ]
)
_HATE_KIND = _Weighted([(_COMMENT, 45), (_VIDEO, 40), (_LIVE, 10), (_POST, 5)])
_CHESS_KIND = _Weighted([(_VIDEO, 70), (_LIVE, 20), (_COMMENT, 10)])
_SPAM_KIND = _Weighted([(_COMMENT, 60), (_VIDEO, 20), (_POST, 15), (_LIVE, 5)])
_NUDITY_KIND = _Weighted([(_VIDEO, 60), (_THUMBNAIL, 25), (_LIVE, 10), (_SYNTHETIC, 5)])
_ORDER_KIND = _Weighted([(_VIDEO, 70), (_LIVE, 15), (_COMMENT, 15)])

_EEA: tuple[Country, ...] = tuple(Country)
# The content's language, and the countries its audience lives in.
_REGION: dict[str, tuple[Country, ...]] = {
    code: tuple(Country[c] for c in countries.split())
    for code, countries in (
        ("EN", "IE MT"),
        ("DE", "DE AT LU LI"),
        ("FR", "FR BE LU"),
        ("ES", "ES"),
        ("IT", "IT"),
        ("PL", "PL"),
        ("NL", "NL BE"),
        ("PT", "PT"),
        ("RO", "RO"),
        ("SV", "SE FI"),
        ("CS", "CZ"),
        ("EL", "GR CY"),
        ("HU", "HU"),
        ("DA", "DK"),
        ("FI", "FI"),
        ("TR", "DE AT NL"),
        ("AR", "FR BE DE"),
    )
}
_LANGUAGE = _Weighted(
    zip(_REGION, (34, 14, 11, 9, 7, 6, 4, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1), strict=True)
)
_CHESS_LANGUAGE = _Weighted([("EN", 50), ("DE", 15), ("ES", 10), ("FR", 10), ("NL", 8)])
_CHESS_SETTINGS = (
    "a blitz commentary",
    "an opening lecture on the Sicilian Defence",
    "live analysis of a grandmaster game",
    "an endgame tutorial",
    "a tournament recap",
    "a puzzle-of-the-day short",
    "a simultaneous exhibition stream",
)

_SILENT_SETS = (
    (Visibility.SEARCH_EXCLUDED,),
    (Visibility.RECOMMENDATIONS_EXCLUDED,),
    (Visibility.SEARCH_EXCLUDED, Visibility.RECOMMENDATIONS_EXCLUDED),
    (Visibility.CONTENT_DEMOTED,),
    (Visibility.CONTENT_DEMOTED, Visibility.RECOMMENDATIONS_EXCLUDED),
    (Visibility.HIDDEN_FROM_NON_FOLLOWERS,),
)
_SILENT = frozenset(v for s in _SILENT_SETS for v in s)

_NOTICE_SOURCE = _Weighted(
    [
        (Source.ARTICLE_16, 42),
        (Source.COMMUNITY_REPORT, 36),
        (Source.TRUSTED_FLAGGER, 13),
        (Source.OTHER_NOTIFICATION, 9),
    ]
)
# How a notice from each source reads in the facts, and how often it is found unfounded.
_NOTICE_FROM = {
    Source.ARTICLE_16: ("a user notice under Art. 16 DSA", 0.45),
    Source.COMMUNITY_REPORT: ("community reports", 0.55),
    Source.TRUSTED_FLAGGER: ("a trusted flagger's notice", 0.15),
    Source.OTHER_NOTIFICATION: ("a notification", 0.35),
}
_NOTICE_POLICY = _Weighted(
    [
        ("harassment", 30),
        ("hate-speech", 18),
        ("misinformation", 16),
        ("copyright", 14),
        ("spam-scams", 12),
        ("adult-nudity", 10),
    ]
)
_PROACTIVE_POLICY = _Weighted(
    [("spam-scams", 35), ("harassment", 25), ("hate-speech", 20), ("misinformation", 20)]
)
# Fictional organisations, each with the policy its notices are about.
_TRUSTED_FLAGGERS = (
    ("Digitale Zivilcourage e.V. (trusted flagger, DE)", "hate-speech"),
    ("Observatoire des discours de haine (trusted flagger, FR)", "hate-speech"),
    ("European Screen Rights Office (trusted flagger, NL)", "copyright"),
    ("Music Rights Enforcement Agency (trusted flagger, IE)", "copyright"),
    ("Consumer Fraud Watch (trusted flagger, IE)", "spam-scams"),
    ("Fact-Check Network Europe (trusted flagger, ES)", "misinformation"),
    ("SafeKids Online (trusted flagger, PL)", "adult-nudity"),
)
_OTHER_NOTIFIERS = (
    "Non-binding referral from a national consumer authority",
    "Referral from another platform's trust and safety team",
    "Rights holder's letter sent outside the notice form",
    "Press enquiry",
)
# Hate speech that is also illegal where the law applies: (country, law, explanation).
_HATE_LAWS = (
    ("DE", "§ 130 StGB (Volksverhetzung)", "Incites hatred against an ethnic group."),
    ("FR", "Loi du 29 juillet 1881, art. 24", "Provocation to hatred on grounds of origin."),
    ("AT", "§ 283 StGB (Verhetzung), Austria", "Incites violence against a religious group."),
)
_COPYRIGHT_LAWS = (
    "Directive (EU) 2019/790, Art. 17; Urheberrechtsgesetz § 97 (DE)",
    "Directive (EU) 2019/790, Art. 17; Code de la propriété intellectuelle, art. L335-2",
    "Directive (EU) 2019/790, Art. 17; Ley de Propiedad Intelectual, art. 138",
    "Directive 2001/29/EC, Art. 3 (communication to the public)",
)
_COPYRIGHT_FACTS = (
    "Full-length upload of a film the notifier holds the rights to.",
    "Background music from a catalogue the notifier represents, without a licence.",
    "Re-upload of a live sports broadcast.",
)


@dataclass(frozen=True, slots=True)
class _LegalOrder:
    country: str
    language: str
    authority: str
    legal_ground: str
    explanation: str
    category: Category
    keyword: str
    reference_url: str
    # Blocked in the ordering country only, rather than removed everywhere.
    geo_block: bool


_LEGAL_ORDERS = (
    _LegalOrder(
        country="DE",
        language="DE",
        authority="Staatsanwaltschaft Berlin",
        legal_ground="§ 130 StGB (Volksverhetzung)",
        explanation="Incites hatred against a religious group; ordered blocked in Germany.",
        category=Category.ILLEGAL_OR_HARMFUL_SPEECH,
        keyword="HATE_SPEECH",
        reference_url="https://www.gesetze-im-internet.de/stgb/__130.html",
        geo_block=True,
    ),
    _LegalOrder(
        country="FR",
        language="FR",
        authority="Tribunal judiciaire de Paris",
        legal_ground="Loi du 29 juillet 1881, art. 24 (provocation à la haine)",
        explanation="Public provocation to hatred on grounds of origin; blocked in France.",
        category=Category.ILLEGAL_OR_HARMFUL_SPEECH,
        keyword="INCITEMENT_VIOLENCE_HATRED",
        reference_url="https://www.legifrance.gouv.fr/loda/id/LEGITEXT000006070722",
        geo_block=True,
    ),
    _LegalOrder(
        country="AT",
        language="DE",
        authority="Landesgericht für Strafsachen Wien",
        legal_ground="§ 111 StGB (Üble Nachrede), Austria",
        explanation="Defamatory statements of fact about a named person; blocked in Austria.",
        category=Category.ILLEGAL_OR_HARMFUL_SPEECH,
        keyword="DEFAMATION",
        reference_url="https://www.ris.bka.gv.at/",
        geo_block=True,
    ),
    _LegalOrder(
        country="IT",
        language="IT",
        authority="Tribunale di Milano, sezione specializzata in materia di impresa",
        legal_ground="Legge 22 aprile 1941, n. 633, art. 171 (diritto d'autore)",
        explanation="Unlicensed broadcast of a football match; ordered disabled in Italy.",
        category=Category.INTELLECTUAL_PROPERTY_INFRINGEMENTS,
        keyword="COPYRIGHT_INFRINGEMENT",
        reference_url="https://www.normattiva.it/",
        geo_block=True,
    ),
    _LegalOrder(
        country="NL",
        language="NL",
        authority="Openbaar Ministerie (Landelijk Parket)",
        legal_ground="Regulation (EU) 2021/784 (terrorist content online), Art. 3",
        explanation="Propaganda of a proscribed organisation; removal ordered within one hour.",
        category=Category.RISK_FOR_PUBLIC_SECURITY,
        keyword="TERRORIST_CONTENT",
        reference_url="https://eur-lex.europa.eu/eli/reg/2021/784/oj",
        geo_block=False,
    ),
    _LegalOrder(
        country="IE",
        language="EN",
        authority="Data Protection Commission",
        legal_ground="Regulation (EU) 2016/679 (GDPR), Art. 17 (right to erasure)",
        explanation="Publishes a private person's home address and phone number.",
        category=Category.DATA_PROTECTION_AND_PRIVACY_VIOLATIONS,
        keyword="RIGHT_TO_BE_FORGOTTEN",
        reference_url="https://eur-lex.europa.eu/eli/reg/2016/679/oj",
        geo_block=False,
    ),
)

_REVERSAL_REASONS = {
    "hate-speech": (
        "the video quotes the slur in order to condemn it (counter-speech)",
        "the clip is news reporting on a hate crime, not an endorsement of it",
        "the lyrics use reclaimed language within the community",
    ),
    "harassment": (
        "the exchange is banter between two creators who work together",
        "the 'threat' is a line from a sketch, clearly staged",
    ),
    "spam-scams": (
        "the link is a disclosed affiliate link, not a phishing page",
        "the channel had been hijacked and is back with its owner",
    ),
    "adult-nudity": (
        "the video is breastfeeding guidance",
        "the image is a classical painting shown in an art-history lecture",
        "the video is medical education about skin-cancer screening",
    ),
    "copyright": (
        "the creator showed a licence for the music",
        "the counter-notice holds: the excerpt is a quotation for review",
    ),
    "misinformation": (
        "the video is satire and labelled as such",
        "the claim matched the authorities' guidance when it was posted",
    ),
}
# UTC hours: quiet at night, busiest in the European evening.
_HOUR_WEIGHTS = (2, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 7, 7, 7, 8, 9, 10, 11, 12, 12, 10, 7, 4)

Fields = dict[str, object]
_INCOMPATIBLE_FIELDS = (
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "incompatible_content_illegal",
)


class _Generator:
    """Draws decisions scenario by scenario; each scenario appends an original decision and
    perhaps the decision that later supersedes it (a reversal, an expiry, a flag's review)."""

    def __init__(
        self,
        rng: random.Random,
        timeline: Timeline,
        count: int,
        thresholds: dict[tuple[str, str], float],
    ) -> None:
        self.rng = rng
        self.t = timeline
        self.count = count
        self.thresholds = thresholds
        self.out: list[DecisionIn] = []
        # Follow-up -> the decision it supersedes, by identity: puids are given out only once
        # everything is in time order.
        self.originals: dict[int, DecisionIn] = {}
        # A few thousand channels for tens of thousands of decisions; a few dozen stream chess.
        self.accounts = max(100, min(5000, count // 8))
        self.chess_accounts = rng.sample(range(self.accounts), k=max(5, self.accounts // 50))
        self.moderators = [f"mod-{n}" for n in range(1, 49)]
        days = (timeline.end.date() - timeline.start.date()).days + 1
        # Weekends are busier, and the platform grows over the window.
        self.day = _Weighted(
            (
                offset,
                (1.15 if timeline.day(offset).weekday() >= 5 else 1.0) * (1 + 0.3 * offset / days),
            )
            for offset in range(days)
        )
        self.hour = _Weighted(enumerate(_HOUR_WEIGHTS))

    def run(self) -> list[DecisionIn]:
        scenario = _Weighted[Callable[[dt.datetime], None]](
            [
                (self.hate_model, 20),
                (self.spam_model, 17),
                (self.nudity_model, 11),
                (self.notice, 38),
                (self.proactive, 10),
                (self.legal_order, 3),
            ]
        )
        while len(self.out) < self.count:
            scenario.pick(self.rng)(self.when())
        # The last original may have brought a follow-up one past the count.
        del self.out[self.count :]
        self.out.sort(key=_decided_at)
        for n, d in enumerate(self.out, start=1):
            d.puid = f"vs-{n:06d}"
        for d in self.out:
            original = self.originals.get(id(d))
            if original is not None:
                d.supersedes_puid = original.puid
        return self.out

    def when(self) -> dt.datetime:
        while True:
            moment = _midnight(self.t.day(self.day.pick(self.rng))) + dt.timedelta(
                hours=self.hour.pick(self.rng), seconds=self.rng.randrange(3600)
            )
            if self.t.start <= moment < self.t.end:
                return moment

    # --- scenarios ---

    def hate_model(self, when: dt.datetime) -> None:
        rng = self.rng
        version = "v2" if when >= self.t.hate_v2_from else "v1"
        threshold = self.thresholds[(HATE_MODEL, version)]
        policy = _POLICY[("hate-speech", 1)]
        phrase: str | None = None
        if version == "v1" and rng.random() < CHESS_SHARE_V1:
            phrase = rng.choice(CHESS_PHRASES)
            kind = _CHESS_KIND.pick(rng)
            base = self.content(
                when,
                kind,
                topic=policy.key,
                account=rng.choice(self.chess_accounts),
                language=_CHESS_LANGUAGE.pick(rng),
            )
            what = f'the {kind.noun} ("{phrase}", in {rng.choice(_CHESS_SETTINGS)})'
        else:
            kind = _HATE_KIND.pick(rng)
            base = self.content(when, kind, topic=policy.key)
            what = f"the {kind.noun} for dehumanising language aimed at a protected group"
        flag = rng.random() < 0.22
        score = (
            rng.uniform(threshold - 0.25, threshold - 0.001)
            if flag
            else rng.uniform(threshold, 0.995)
        )
        facts = (
            f"Automated detection: {HATE_MODEL} {version} scored {what} {score:.3f} "
            f"(threshold {threshold:.2f})."
        )
        automated = self.automated(HATE_MODEL, version, score, confirmed=0.15)
        if flag:
            original = self.flag(base, policy, facts, automated)
            if rng.random() < (0.9 if phrase else 0.4):
                self.review(original, policy, chess_phrase=phrase)
            return
        r = rng.random()
        if r < 0.5:
            restriction = self.silent(when, temporary=0.4)
        elif r < 0.8:
            restriction = _removed()
        elif r < 0.9:
            restriction = {
                "decision_visibility": [
                    rng.choice(
                        (Visibility.CONTENT_LABELLED, Visibility.CONTENT_INTERACTION_RESTRICTED)
                    )
                ]
            }
        else:
            restriction = self.demonetised(when)
        if phrase is None:
            restriction["incompatible_content_illegal"] = rng.choice(("Yes", "No", None))
        original = self.record(
            base, policy, DecisionType.RESTRICTION, facts=facts, **automated, **restriction
        )
        if phrase is not None:
            reversal_rate = CHESS_REVERSAL_RATE
        else:
            reversal_rate = 0.04 if version == "v2" else 0.08
        self.follow_up(original, policy, reversal_rate, chess_phrase=phrase)

    def spam_model(self, when: dt.datetime) -> None:
        rng = self.rng
        policy = _POLICY[("spam-scams", 1)]
        threshold = self.thresholds[(SPAM_MODEL, "v3")]
        flag = rng.random() < 0.1
        score = rng.uniform(0.7, threshold - 0.001) if flag else rng.uniform(threshold, 0.999)
        channel = not flag and rng.random() < 0.3
        if channel:
            base = self.channel(when, business=0.3)
            what = "the channel's activity (bulk identical comments, rotating links)"
        else:
            kind = _SPAM_KIND.pick(rng)
            base = self.content(when, kind, topic=policy.key)
            what = f"the {kind.noun} (a fake giveaway link)"
        facts = (
            f"Automated detection: {SPAM_MODEL} v3 scored {what} {score:.3f} "
            f"(threshold {threshold:.2f})."
        )
        automated = self.automated(SPAM_MODEL, "v3", score, confirmed=0.5 if channel else 0.15)
        if flag:
            original = self.flag(base, policy, facts, automated)
            if rng.random() < 0.3:
                self.review(original, policy)
            return
        r = rng.random()
        restriction: Fields
        if channel and r < 0.4:
            restriction = {
                "decision_account": AccountAction.TERMINATED,
                "category_specification": [_keyword("INAUTHENTIC_ACCOUNTS")],
            }
        elif channel and r < 0.75:
            restriction = self.suspension(when)
        elif channel:
            restriction = self.service(when, temporary=True)
        elif r < 0.65:
            restriction = _removed()
        else:
            restriction = self.silent(when, temporary=0.3)
        original = self.record(
            base, policy, DecisionType.RESTRICTION, facts=facts, **automated, **restriction
        )
        self.follow_up(original, policy, 0.03)

    def nudity_model(self, when: dt.datetime) -> None:
        rng = self.rng
        policy = _POLICY[("adult-nudity", 1)]
        threshold = self.thresholds[(NUDITY_MODEL, "v2")]
        flag = rng.random() < 0.12
        score = rng.uniform(0.55, threshold - 0.001) if flag else rng.uniform(threshold, 0.999)
        kind = _NUDITY_KIND.pick(rng)
        base = self.content(when, kind, topic=policy.key)
        facts = (
            f"Automated detection: {NUDITY_MODEL} v2 scored the {kind.noun} {score:.3f} "
            f"(threshold {threshold:.2f}) for nudity."
        )
        automated = self.automated(NUDITY_MODEL, "v2", score, confirmed=0.2)
        if flag:
            original = self.flag(base, policy, facts, automated)
            if rng.random() < 0.5:
                self.review(original, policy)
            return
        r = rng.random()
        restriction: Fields
        if r < 0.45:
            restriction = {
                "decision_visibility": [Visibility.CONTENT_AGE_RESTRICTED],
                "category_addition": [Category.PROTECTION_OF_MINORS],
            }
        elif r < 0.75:
            restriction = _removed()
        elif r < 0.85:
            restriction = {
                "decision_visibility": [
                    Visibility.CONTENT_AGE_RESTRICTED,
                    Visibility.RECOMMENDATIONS_EXCLUDED,
                ]
            }
        elif r < 0.95:
            restriction = self.demonetised(when)
        else:
            restriction = {
                "decision_monetary": Monetary.OTHER,
                "decision_monetary_other": "Limited ads: only non-personalised ads are shown.",
            }
        original = self.record(
            base, policy, DecisionType.RESTRICTION, facts=facts, **automated, **restriction
        )
        self.follow_up(original, policy, 0.10)

    def notice(self, when: dt.datetime) -> None:
        """A notice from a user, a trusted flagger or someone else, reviewed by a moderator."""
        rng = self.rng
        source = _NOTICE_SOURCE.pick(rng)
        notified_by, unfounded = _NOTICE_FROM[source]
        identity: str | None = None
        if source == Source.TRUSTED_FLAGGER:
            identity, key = rng.choice(_TRUSTED_FLAGGERS)
        else:
            key = _NOTICE_POLICY.pick(rng)
            if source == Source.OTHER_NOTIFICATION:
                identity = rng.choice(_OTHER_NOTIFIERS)
            elif source == Source.COMMUNITY_REPORT:
                identity = f"Report button ({1 + int(rng.expovariate(0.2))} reports)"
        policy = self.policy(key, when)
        kind = _ANY_KIND.pick(rng)
        fields: Fields = {"source_type": source, "source_identity": identity, **self.human()}
        if rng.random() < unfounded:
            if policy.ground == Ground.ILLEGAL_CONTENT:
                fields |= _illegal(
                    "Directive (EU) 2019/790, Art. 17, as the notifier alleged",
                    "Alleged use of a protected work; the use is a quotation for review.",
                )
            self.record(
                self.content(when, kind, topic=policy.key),
                policy,
                DecisionType.NO_ACTION,
                facts=(
                    f"After {notified_by}, a moderator reviewed the {kind.noun} against "
                    f"{policy.title.lower()} and found no breach; the notifier was told."
                ),
                **fields,
            )
            return
        restriction, channel = self.upheld(policy, when)
        base = self.channel(when) if channel else self.content(when, kind, topic=policy.key)
        if rng.random() < 0.1:
            fields["internal_notes"] = "Second opinion from the tier-2 queue concurred."
        original = self.record(
            base,
            policy,
            DecisionType.RESTRICTION,
            facts=(
                f"After {notified_by}, a moderator reviewed the "
                f"{'channel' if channel else kind.noun} and found a breach of "
                f"{policy.title.lower()}."
            ),
            **fields,
            **restriction,
        )
        self.follow_up(original, policy, 0.06 if key == "copyright" else 0.04)

    def upheld(self, policy: PolicySpec, when: dt.datetime) -> tuple[Fields, bool]:
        """What a moderator does about a notice that holds, and whether it hits the channel."""
        rng = self.rng
        r = rng.random()
        match policy.key:
            case "harassment":
                if r < 0.45:
                    return _removed(), False
                if r < 0.6:
                    return {
                        "decision_visibility": [Visibility.CONTENT_INTERACTION_RESTRICTED]
                    }, False
                if r < 0.7:
                    hidden = ((Visibility.HIDDEN_FROM_NON_FOLLOWERS,),)
                    return self.silent(when, temporary=0.5, sets=hidden), False
                if r < 0.95:
                    return self.suspension(when), True
                return {"decision_account": AccountAction.TERMINATED}, True
            case "hate-speech":
                if r < 0.3:
                    # Illegal where the law applies, so disabled there rather than removed.
                    country, law, explanation = rng.choice(_HATE_LAWS)
                    return {
                        "decision_visibility": [Visibility.CONTENT_DISABLED],
                        "territorial_scope": [Country[country]],
                        **_illegal(law, explanation),
                    }, False
                if r < 0.65:
                    return _removed(), False
                if r < 0.8:
                    return self.silent(when, temporary=0.3), False
                if r < 0.93:
                    return self.suspension(when), True
                return {"decision_account": AccountAction.TERMINATED}, True
            case "misinformation":
                if r < 0.5:
                    return {"decision_visibility": [Visibility.CONTENT_LABELLED]}, False
                if r < 0.8:
                    return self.silent(when, temporary=0.3), False
                if r < 0.95:
                    return _removed(), False
                return self.demonetised(when), False
            case "copyright":
                illegal = _illegal(rng.choice(_COPYRIGHT_LAWS), rng.choice(_COPYRIGHT_FACTS))
                if r < 0.5:
                    return _removed() | illegal, False
                if r < 0.9:
                    # Disabled only where the notifier holds the rights.
                    return {
                        "decision_visibility": [Visibility.CONTENT_DISABLED],
                        "territorial_scope": rng.sample(_EEA, k=rng.randint(1, 4)),
                        **illegal,
                    }, False
                return {
                    "decision_monetary": Monetary.OTHER,
                    "decision_monetary_other": "Ad revenue redirected to the rights holder.",
                    **illegal,
                }, False
            case "spam-scams":
                if r < 0.5:
                    return _removed(), False
                if r < 0.7:
                    return {"decision_account": AccountAction.TERMINATED}, True
                if r < 0.85:
                    # The channel's shop is closed for good; the channel stays.
                    return {"decision_provision": Provision.PARTIAL_TERMINATION}, True
                # A counterfeit item in the channel's merchandise shop.
                return _removed() | {
                    "content_type": [ContentType.PRODUCT],
                    "content_type_other": None,
                    "content_id": ContentId(ean_13=f"40{rng.randrange(10**11):011d}"),
                    "category_specification": [_keyword("PYRAMID_SCHEMES")],
                }, False
            case _:
                if r < 0.5:
                    return {"decision_visibility": [Visibility.CONTENT_AGE_RESTRICTED]}, False
                return _removed(), False

    def proactive(self, when: dt.datetime) -> None:
        """Moderators acting on their own initiative: repeat offenders and sweeps of trending."""
        rng = self.rng
        key = _PROACTIVE_POLICY.pick(rng)
        policy = self.policy(key, when)
        r = rng.random()
        restriction: Fields
        if r < 0.2:
            restriction = {"decision_account": AccountAction.TERMINATED}
            facts = "Third strike within 90 days: the channel is terminated."
        elif r < 0.3:
            restriction = {"decision_provision": Provision.TOTAL_TERMINATION}
            facts = "After repeated severe breaches, the channel's use of the service is ended."
        elif r < 0.38:
            restriction = self.service(when, temporary=rng.random() < 0.5)
            facts = "After repeated breaches, live-streaming and uploads are limited."
        elif r < 0.5:
            restriction = {"decision_monetary": Monetary.TERMINATION}
            facts = "The channel is removed from the partner programme."
        elif r < 0.65:
            restriction = {
                "decision_visibility": [Visibility.OTHER],
                "decision_visibility_other": "Removed from trending and the explore page.",
                "end_date_visibility_restriction": _after(when, rng.choice((7, 14))),
            }
            facts = "A sweep of trending videos found a breach; the video leaves trending."
        elif r < 0.85:
            restriction = self.silent(when, temporary=0.4)
            facts = "A sweep of trending videos found a breach; the video's reach is limited."
        else:
            restriction = _removed()
            facts = "A sweep of trending videos found a breach; the video is removed."
        if r < 0.5:
            base = self.channel(when, business=0.2 if key == "spam-scams" else 0.05)
        else:
            base = self.content(when, _ANY_KIND.pick(rng), topic=policy.key)
        original = self.record(
            base,
            policy,
            DecisionType.RESTRICTION,
            facts=f"Own-initiative review under {policy.title.lower()}. {facts}",
            source_type=Source.VOLUNTARY,
            **self.human(),
            **restriction,
        )
        self.follow_up(original, policy, 0.03)

    def legal_order(self, when: dt.datetime) -> None:
        """An order from a court or authority, checked and complied with; never reversed."""
        rng = self.rng
        order = rng.choice(_LEGAL_ORDERS)
        kind = _ORDER_KIND.pick(rng)
        scope = [Country[order.country]] if order.geo_block else list(_EEA)
        copyright_order = order.category == Category.INTELLECTUAL_PROPERTY_INFRINGEMENTS
        visibility = Visibility.CONTENT_DISABLED if order.geo_block else Visibility.CONTENT_REMOVED
        self.record(
            self.content(
                when, kind, topic=order.category.value, language=order.language, scope=scope
            ),
            _POLICY[("copyright", 1)] if copyright_order else None,
            DecisionType.RESTRICTION,
            facts=(
                f"A legal order from {order.authority} ({order.country}) named the {kind.noun}; "
                "a moderator verified the order and complied."
            ),
            source_type=Source.LEGAL_ORDER,
            source_identity=f"Order {when.year}/{rng.randrange(1, 9999):04d}, {order.authority}",
            category=order.category,
            category_specification=[_keyword(order.keyword)],
            decision_ground_reference_url=order.reference_url,
            decision_visibility=[visibility],
            **_illegal(order.legal_ground, order.explanation),
            **self.human(),
        )

    # --- follow-ups ---

    def follow_up(
        self,
        original: DecisionIn,
        policy: PolicySpec,
        reversal_rate: float,
        *,
        chess_phrase: str | None = None,
    ) -> None:
        """Perhaps a reversal on a second review; otherwise the expiry of a temporary
        restriction."""
        rng = self.rng
        decided = _decided_at(original)
        ends = _restriction_end(original)
        if rng.random() < reversal_rate:
            # Appeal filed, queued and decided: two hours to three weeks.
            at = decided + dt.timedelta(hours=rng.uniform(2, 24 * 21))
            # Past its end date a restriction has expired and there is nothing to reverse.
            if at < self.t.end and (ends is None or at.date() <= ends):
                if chess_phrase is not None:
                    why = (
                        f'the video is chess commentary: "{chess_phrase}" describes a move '
                        "on the board, not people"
                    )
                else:
                    why = rng.choice(_REVERSAL_REASONS[policy.key])
                self.change(
                    original,
                    DecisionType.REVERSAL,
                    at,
                    facts=(
                        # Not "on appeal": these have no appeal behind them (the appeals demo
                        # files its own, whose decisions say so).
                        f"On a second review, a moderator found that {why}. The restriction of "
                        f"{decided.date().isoformat()} is lifted."
                    ),
                    moderator=rng.choice(self.moderators),
                )
                return
        if ends is not None:
            at = _midnight(ends) + dt.timedelta(seconds=rng.randrange(1800))
            if at < self.t.end:
                self.change(
                    original,
                    DecisionType.EXPIRY,
                    at,
                    facts=(
                        f"The restriction of {decided.date().isoformat()} reached the end date "
                        f"set when it was imposed ({ends.isoformat()}) and is lifted."
                    ),
                    moderator=None,
                )

    def review(
        self, flag: DecisionIn, policy: PolicySpec, *, chess_phrase: str | None = None
    ) -> None:
        """A moderator clears a model's flag: no action, pointing at the flag."""
        at = _decided_at(flag) + dt.timedelta(hours=self.rng.uniform(1, 72))
        if at >= self.t.end:
            return
        found = (
            f'chess commentary ("{chess_phrase}"), not hateful conduct'
            if chess_phrase is not None
            else f"no breach of {policy.title.lower()}"
        )
        self.change(
            flag,
            DecisionType.NO_ACTION,
            at,
            facts=f"A moderator reviewed the flagged content and found {found}.",
            moderator=self.rng.choice(self.moderators),
        )

    def change(
        self,
        original: DecisionIn,
        decision_type: DecisionType,
        at: dt.datetime,
        *,
        facts: str,
        moderator: str | None,
    ) -> None:
        """A decision about the original's subject, on its grounds, carrying no restriction."""
        d = DecisionIn(
            puid="pending",
            subject=original.subject,
            decision_type=decision_type,
            decision_ground=original.decision_ground,
            decision_ground_reference_url=original.decision_ground_reference_url,
            illegal_content_legal_ground=original.illegal_content_legal_ground,
            illegal_content_explanation=original.illegal_content_explanation,
            incompatible_content_ground=original.incompatible_content_ground,
            incompatible_content_explanation=original.incompatible_content_explanation,
            category=original.category,
            category_specification=original.category_specification,
            policy=original.policy,
            policy_version=original.policy_version,
            decision_facts=facts,
            source_type=original.source_type,
            source_identity=original.source_identity,
            automated_detection="No",
            automated_decision=AutomatedDecision.NOT_AUTOMATED,
            moderator=moderator,
            account_type=original.account_type,
            content_type=original.content_type,
            content_type_other=original.content_type_other,
            content_language=original.content_language,
            content_id=original.content_id,
            territorial_scope=original.territorial_scope,
            content_date=original.content_date,
            application_date=at.date(),
            decided_at=at,
            notified_at=self.notified(at, chance=0.9),
        )
        self.originals[id(d)] = original
        self.out.append(d)

    # --- building blocks ---

    def record(
        self,
        base: Fields,
        policy: PolicySpec | None,
        decision_type: DecisionType,
        *,
        facts: str,
        **fields: object,
    ) -> DecisionIn:
        """A decision from its subject and content (`base`), its policy, and the rest."""
        values: Fields = dict(base)
        if policy is not None:
            values.update(
                policy=policy.key,
                policy_version=policy.version,
                category=policy.category,
                category_specification=[_keyword(self.rng.choice(policy.keywords))],
                decision_ground=policy.ground,
                decision_ground_reference_url=policy.url,
            )
            if policy.ground == Ground.INCOMPATIBLE_CONTENT:
                values.update(
                    incompatible_content_ground=policy.clause,
                    incompatible_content_explanation=policy.explanation,
                )
        values.update(fields)
        if values["decision_ground"] == Ground.ILLEGAL_CONTENT:
            # The law is the ground, not the guidelines: no incompatible_* fields.
            for field in _INCOMPATIBLE_FIELDS:
                values.pop(field, None)
        if decision_type == DecisionType.RESTRICTION:
            # Shadowbans are mostly silent: the creator is seldom told.
            visibility = values.get("decision_visibility") or []
            assert isinstance(visibility, list)
            silent = bool(visibility) and set(visibility) <= _SILENT
            silent = silent and not any(
                values.get(f)
                for f in ("decision_monetary", "decision_provision", "decision_account")
            )
            values["notified_at"] = self.notified(_when_of(values), chance=0.15 if silent else 0.85)
        d = DecisionIn(puid="pending", decision_type=decision_type, decision_facts=facts, **values)  # type: ignore[arg-type]
        self.out.append(d)
        return d

    def flag(self, base: Fields, policy: PolicySpec, facts: str, automated: Fields) -> DecisionIn:
        return self.record(
            base,
            policy,
            DecisionType.FLAG,
            facts=f"{facts} Below the threshold: queued for human review.",
            **automated,
        )

    def content(
        self,
        when: dt.datetime,
        kind: _Kind,
        *,
        topic: str,
        account: int | None = None,
        language: str | None = None,
        scope: list[Country] | None = None,
    ) -> Fields:
        """The subject and content fields of a decision about one piece of content.

        `topic` (the policy or the order's category) is part of the content's id: an upload is
        only ever decided on under one rule, so that no video is, say, cleared by the nudity
        classifier and then removed by the spam detector.
        """
        rng = self.rng
        account = self.account() if account is None else account
        language = _LANGUAGE.pick(rng) if language is None else language
        if scope is None:
            scope = list(_EEA) if rng.random() < 0.75 else list(_REGION[language])
        # Most decisions about a channel concern a handful of its uploads.
        upload = int(8 * rng.random() ** 2)
        content = f"{kind.prefix}{account:05d}{zlib.crc32(topic.encode()) % 100:02d}{upload}"
        posted = when.date() - dt.timedelta(days=min(int(rng.expovariate(0.2)), 700))
        return {
            "subject": Subject(account=f"acct-{account:05d}", content=content),
            "content_type": list(kind.content_type),
            "content_type_other": kind.other,
            "content_language": Language[language],
            "territorial_scope": scope,
            "account_type": AccountType.PRIVATE,
            "content_date": posted,
            "application_date": when.date(),
            "decided_at": when,
        }

    def channel(self, when: dt.datetime, *, business: float = 0.1) -> Fields:
        """The fields of a decision about a whole channel, dated the day it was created."""
        rng = self.rng
        account_type = AccountType.BUSINESS if rng.random() < business else AccountType.PRIVATE
        return {
            "subject": Subject(account=f"acct-{self.account():05d}"),
            "content_type": list(_CHANNEL.content_type),
            "content_type_other": _CHANNEL.other,
            "territorial_scope": list(_EEA),
            "account_type": account_type,
            "content_date": when.date() - dt.timedelta(days=rng.randint(1, 2500)),
            "application_date": when.date(),
            "decided_at": when,
        }

    def account(self) -> int:
        # Skewed: a few channels collect many decisions (repeat offenders, spam farms).
        return int(self.accounts * self.rng.random() ** 1.4)

    def policy(self, key: str, when: dt.datetime) -> PolicySpec:
        if key == "harassment" and when >= self.t.harassment_v2_from:
            return _POLICY[(key, 2)]
        return _POLICY[(key, 1)]

    def automated(self, model: str, version: str, score: float, *, confirmed: float) -> Fields:
        """A model's decision; with probability `confirmed` a moderator confirmed it first."""
        moderator = self.rng.choice(self.moderators) if self.rng.random() < confirmed else None
        return {
            "source_type": Source.VOLUNTARY,
            "automated_detection": "Yes",
            "automated_decision": (
                AutomatedDecision.PARTIALLY if moderator else AutomatedDecision.FULLY
            ),
            "model": model,
            "model_version": version,
            "score": round(score, 3),
            "moderator": moderator,
        }

    def human(self) -> Fields:
        return {
            "automated_detection": "No",
            "automated_decision": AutomatedDecision.NOT_AUTOMATED,
            "moderator": self.rng.choice(self.moderators),
        }

    def silent(
        self,
        when: dt.datetime,
        *,
        temporary: float,
        sets: Sequence[tuple[Visibility, ...]] = _SILENT_SETS,
    ) -> Fields:
        """A shadowban: reach limited without removing anything, sometimes for a while."""
        restriction: Fields = {"decision_visibility": list(self.rng.choice(sets))}
        if self.rng.random() < temporary:
            days = self.rng.choice((7, 14, 30))
            restriction["end_date_visibility_restriction"] = _after(when, days)
        return restriction

    def demonetised(self, when: dt.datetime) -> Fields:
        return {
            "decision_monetary": Monetary.SUSPENSION,
            "end_date_monetary_restriction": _after(when, self.rng.choice((30, 60, 90))),
        }

    def suspension(self, when: dt.datetime) -> Fields:
        return {
            "decision_account": AccountAction.SUSPENDED,
            "end_date_account_restriction": _after(when, self.rng.choice((1, 3, 7, 14, 30))),
        }

    def service(self, when: dt.datetime, *, temporary: bool) -> Fields:
        if not temporary:
            return {"decision_provision": Provision.PARTIAL_TERMINATION}
        total = self.rng.random() < 0.3
        return {
            "decision_provision": (
                Provision.TOTAL_SUSPENSION if total else Provision.PARTIAL_SUSPENSION
            ),
            "end_date_service_restriction": _after(when, self.rng.choice((7, 14, 30))),
        }

    def notified(self, when: dt.datetime, *, chance: float) -> dt.datetime | None:
        if self.rng.random() >= chance:
            return None
        at = when + dt.timedelta(seconds=self.rng.randint(1, 900))
        return at if at <= self.t.end else None


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)


def _after(when: dt.datetime, days: int) -> dt.date:
    return when.date() + dt.timedelta(days=days)


def _decided_at(d: DecisionIn) -> dt.datetime:
    assert d.decided_at is not None
    return d.decided_at


def _when_of(values: Fields) -> dt.datetime:
    when = values["decided_at"]
    assert isinstance(when, dt.datetime)
    return when


def _restriction_end(d: DecisionIn) -> dt.date | None:
    ends = [
        end
        for end in (
            d.end_date_visibility_restriction,
            d.end_date_monetary_restriction,
            d.end_date_service_restriction,
            d.end_date_account_restriction,
        )
        if end is not None
    ]
    return max(ends) if ends else None


def _removed() -> Fields:
    return {"decision_visibility": [Visibility.CONTENT_REMOVED]}


def _illegal(legal_ground: str, explanation: str) -> Fields:
    return {
        "decision_ground": Ground.ILLEGAL_CONTENT,
        "illegal_content_legal_ground": legal_ground,
        "illegal_content_explanation": explanation,
    }


def _keyword(name: str) -> Keyword:
    return Keyword[name]
