"""Composition of Vietnamese customer texts and support-chat turns from the YAML tables.

A customer text is an optional opener, a clause about the message's topic with its
sentiment (or a question), sometimes a second clause about another topic joined by a
contrast or an addition, an optional closer (praise, churn threat, urgency), then noise
(:mod:`simulator.noise`), casing, final punctuation and emoji. Everything random is
drawn from the message's own ``rand``; the composer holds only read-only tables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from simulator.noise import Noiser, Rand, Template
from simulator.traffic import Brand, Product
from simulator.vocab import TOPICS, Resources

#: Stands for an incident phrase while noise is applied, so the phrase stays verbatim.
PHRASE_MARK = "\ue000"

APP_CHANNELS = frozenset({"app_store", "google_play"})
_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
_LETTERS_DIGITS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_DIGITS = "0123456789"
_MASK_TAILS = "abcdeghiklmnopqrstuvxy0123456789"


def pick(items: Sequence[Any], rand: Rand) -> Any:
    """Draw one item of a non-empty sequence with ``rand``."""
    return items[int(rand() * len(items))]


def _digits(rand: Rand, n: int) -> str:
    return "".join(_DIGITS[int(rand() * 10)] for _ in range(n))


def _chars(rand: Rand, alphabet: str, n: int) -> str:
    size = len(alphabet)
    return "".join(alphabet[int(rand() * size)] for _ in range(n))


def format_price(vnd: int, rand: Rand) -> str:
    """Write a VND amount the ways Vietnamese shoppers do: 7.990.000đ, 7tr99, 159k."""
    style = rand()
    if vnd >= 1_000_000:
        millions = vnd / 1_000_000
        if style < 0.35:
            return f"{vnd:,}đ".replace(",", ".")
        if style < 0.6:
            whole, rest = divmod(vnd // 10_000, 100)
            return f"{whole}tr{rest:02d}".rstrip("0") if rest else f"{whole}tr"
        if style < 0.8:
            return f"{round(millions, 1):g} triệu"
        return f"{round(millions)} củ"
    thousands = max(1, round(vnd / 1000))
    if style < 0.5:
        return f"{thousands}k"
    if style < 0.75:
        return f"{thousands * 1000:,}đ".replace(",", ".")
    return f"{thousands} nghìn" if style < 0.9 else f"{thousands} ngàn"


class Slots(dict[str, str]):
    """Slot values of one message, drawn on first use and then kept.

    ``{days}`` twice in one message is the same number.
    """

    __slots__ = ("brand", "channel", "composer", "moment", "product", "rand", "source")

    def __init__(
        self,
        composer: Composer,
        rand: Rand,
        *,
        brand: Brand,
        product: Product,
        source: str,
        channel: str,
        moment: float,
    ) -> None:
        super().__init__()
        self.composer, self.rand = composer, rand
        self.brand, self.product = brand, product
        self.source, self.channel, self.moment = source, channel, moment

    def __missing__(self, key: str) -> str:
        maker = self.composer.slot_makers.get(key)
        if maker is None:
            raise KeyError(key)
        value = maker(self)
        self[key] = value
        return value


@dataclass(frozen=True, slots=True)
class Composed:
    """A composed text with what the simulator knows about it.

    ``sentiment`` is set when a chat turn's sentiment differs from its conversation's
    (a customer giving an order code is neutral in an angry conversation).
    """

    text: str
    topics: tuple[str, ...]
    flags: tuple[str, ...]
    sentiment: str | None = None


class Composer:
    """Builds customer texts and chat turns from the simulator's tables."""

    def __init__(self, resources: Resources) -> None:
        texts, people, mix = resources.texts, resources.people, resources.mix
        self.noise_cfg = resources.noise
        self.noiser = Noiser(resources.noise)
        kinds = tuple(mix["topics_by_kind"])
        compile_all = self._compile_all
        self.pools: dict[tuple[str, str, str], tuple[Template, ...]] = {}
        for topic, entry in texts["topics"].items():
            by_kind = entry.get("by_kind") or {}
            for kind in kinds:
                extra = by_kind.get(kind) or {}
                general = {} if extra.get("only") else entry
                for mode in ("positive", "neutral", "negative", "question"):
                    pool = tuple(general.get(mode) or ()) + tuple(extra.get(mode) or ())
                    if not pool and mode == "question":
                        pool = tuple(general.get("neutral") or ()) + tuple(
                            extra.get("neutral") or ()
                        )
                    self.pools[(topic, kind, mode)] = compile_all(pool)
        self.kind_topics: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {}
        for kind, weights in mix["topics_by_kind"].items():
            names = tuple(t for t in TOPICS if weights.get(t, 0) > 0)
            total = sum(float(weights[t]) for t in names)
            acc, cum = 0.0, []
            for t in names:
                acc += float(weights[t]) / total
                cum.append(acc)
            self.kind_topics[kind] = (names, tuple(cum))
        self.openers = {s: compile_all(v) for s, v in texts["openers"].items()}
        self.contrast = tuple(texts["connectors"]["contrast"])
        self.addition = tuple(texts["connectors"]["addition"])
        self.closers = {s: compile_all(v) for s, v in texts["closers"].items()}
        self.phrase_frames = compile_all(
            tuple(f.replace("{phrase}", PHRASE_MARK) for f in texts["phrase_frames"])
        )
        self.english_clauses = {
            topic: {mode: tuple(lines) for mode, lines in modes.items()}
            for topic, modes in texts["english"].items()
        }
        self.english_closers = {s: tuple(v) for s, v in texts["english_closers"].items()}
        social = texts["social"]
        self.social_prefixes = tuple(social["prefixes"])
        self.question_prefixes = tuple(social["question_prefixes"])
        self.hashtags = tuple(social["hashtags"])
        self.url_hosts = tuple(social["url_hosts"])
        self.emoji = {s: tuple(v) for s, v in self.noise_cfg["emoji"].items()}
        self.endings = {s: tuple(v) for s, v in self.noise_cfg["endings"].items()}
        self.html_joins = tuple(self.noise_cfg["html"]["joins"])
        self.html_quotes = tuple(self.noise_cfg["html"]["quotes"])
        customer = resources.chat["customer"]
        self.greetings = compile_all(customer["greetings"])
        self.asks = compile_all(customer["asks"])
        self.details = compile_all(customer["details"])
        self.follow_ups = {s: compile_all(v) for s, v in customer["follow_ups"].items()}
        self.customer_closings = {s: compile_all(v) for s, v in customer["closings"].items()}
        self.agent = resources.chat["agent"]
        self.people = people
        self._given = tuple(people["given_names"])
        self._family = tuple(people["family_names"])
        self._words = tuple(people["words"])
        self.slot_makers = self._slot_makers(people)

    def _compile_all(self, templates: Sequence[str]) -> tuple[Template, ...]:
        return tuple(self.noiser.compile(t) for t in templates)

    # -- slots ---------------------------------------------------------------------------

    def _slot_makers(self, people: Mapping[str, Any]) -> dict[str, Callable[[Slots], str]]:
        pronouns = tuple(people["self_pronouns"])
        address = {k: tuple(v) for k, v in people["address"].items()}
        cities, colors = tuple(people["cities"]), tuple(people["colors"])
        sizes, wallets = tuple(str(s) for s in people["sizes"]), tuple(people["wallets"])
        rivals, domains = tuple(people["rivals"]), tuple(people["email_domains"])
        prefixes = tuple(people["phone_prefixes"])
        agents = tuple(people["agent_names"])
        agent_address = tuple(self.agent["address"])

        def you(s: Slots) -> str:
            if s.channel in APP_CHANNELS:
                return str(pick(address["app"], s.rand))
            return str(pick(address[s.source], s.rand))

        def price(s: Slots) -> str:
            base = s.product.price or 50_000 + 10_000 * int(s.rand() * 45)
            value = int(base * (0.85 + 0.25 * s.rand()) / 1000) * 1000
            s["_price_value"] = str(value)
            return format_price(value, s.rand)

        def price_low(s: Slots) -> str:
            if "_price_value" not in s:
                _ = s["price"]  # draws the price, which records its value
            value = int(s["_price_value"])
            return format_price(int(value * (0.55 + 0.35 * s.rand()) / 1000) * 1000, s.rand)

        def order(s: Slots) -> str:
            r, style = s.rand, s.rand()
            if style < 0.3:
                day = datetime.fromtimestamp(s.moment, UTC).strftime("%y%m%d")
                return day + _chars(r, _ALNUM, 8)
            if style < 0.55:
                return "DH" + _digits(r, 8)
            if style < 0.75:
                return "#" + _digits(r, 10)
            if style < 0.9:
                return "MD" + _digits(r, 6)
            return "VN" + _digits(r, 9) + "VN"

        def phone(s: Slots) -> str:
            r = s.rand
            number = str(pick(prefixes, r)) + _digits(r, 7)
            style = r()
            if style < 0.4:
                return number
            if style < 0.65:
                return f"{number[:4]} {number[4:7]} {number[7:]}"
            if style < 0.8:
                return f"{number[:4]}.{number[4:7]}.{number[7:]}"
            return f"+84 {number[1:4]} {number[4:7]} {number[7:]}"

        def email(s: Slots) -> str:
            return f"{self.handle(s.rand, plain=True)}@{pick(domains, s.rand)}"

        def date(s: Slots) -> str:
            moment = datetime.fromtimestamp(s.moment, UTC) + timedelta(hours=7)
            moment -= timedelta(days=int(s.rand() * 10))
            return f"{moment.day}/{moment.month}"

        def rival(s: Slots) -> str:
            options = [r for r in rivals if r != s.channel]
            return str(pick(options, s.rand))

        def number(lo: int, hi: int, step: int = 1) -> Callable[[Slots], str]:
            count = (hi - lo) // step + 1
            return lambda s: str(lo + step * int(s.rand() * count))

        return {
            "i": lambda s: str(pick(pronouns, s.rand)),
            "you": you,
            "brand": lambda s: s.brand.name,
            "brand_handle": lambda s: s.brand.handle,
            "product": lambda s: s.product.name,
            "price": price,
            "price_low": price_low,
            "days": number(2, 14),
            "days_short": number(1, 3),
            "hours": number(2, 48),
            "hours_short": number(1, 4),
            "minutes": number(20, 90, 5),
            "minutes_short": number(15, 45, 5),
            "n": number(2, 5),
            "months": lambda s: str(pick((3, 6, 12, 12, 18, 24), s.rand)),
            "weeks": number(2, 6),
            "percent": number(10, 70, 5),
            "order": order,
            "phone": phone,
            "email": email,
            "wallet": lambda s: str(pick(wallets, s.rand)),
            "city": lambda s: str(pick(cities, s.rand)),
            "size": lambda s: str(pick(sizes, s.rand)),
            "color": lambda s: str(pick(colors, s.rand)),
            "height": number(150, 182),
            "weight": number(42, 80),
            "rival": rival,
            "date": date,
            "code": lambda s: _chars(s.rand, _LETTERS_DIGITS, 7),
            "agent": lambda s: str(pick(agents, s.rand)),
            "kh": lambda s: str(pick(agent_address, s.rand)),
        }

    def handle(self, rand: Rand, *, plain: bool = False) -> str:
        """Invent a pseudonymous handle: ``linhnguyen95``, ``meo_linh``, ``t*****9``...

        ``plain`` keeps to handles that fit in an e-mail address or a URL path.
        """
        given = pick(self._given, rand)
        style = rand() * 0.7 if plain else rand()
        if style < 0.2:
            year = int(rand() * 30) + 90 if rand() < 0.6 else int(rand() * 9)
            return f"{given}{pick(self._family, rand)}{year}"
        if style < 0.35:
            return f"{given}.{pick(self._family, rand)}"
        if style < 0.5:
            return f"{pick(self._words, rand)}_{given}"
        if style < 0.6:
            return f"{given}_{pick(self._words, rand)}{int(rand() * 99):02d}"
        if style < 0.7:
            return f"{pick(self._words, rand)}{given}{int(rand() * 9) + 1}k{int(rand() * 9)}"
        if style < 0.8:
            return f"user{_digits(rand, 8)}"
        if style < 0.92:
            return f"{given[0]}*****{pick(_MASK_TAILS, rand)}"
        return f"{given.capitalize()} {pick(self._family, rand).capitalize()}"

    # -- customer texts ------------------------------------------------------------------

    def render(self, template: Template, slots: Slots, rate: float) -> str:
        """Render a template with teencode at ``rate`` and its slots filled."""
        text = (
            template
            if isinstance(template, str)
            else self.noiser.render(template, rate, slots.rand)
        )
        return text.format_map(slots) if "{" in text else text

    def _secondary_topic(self, kind: str, topic: str, rand: Rand) -> str:
        names, cum = self.kind_topics[kind]
        for _ in range(4):
            u = rand()
            drawn = next((n for n, edge in zip(names, cum, strict=True) if u < edge), names[-1])
            if drawn != topic:
                return drawn
        return names[0] if names[0] != topic else names[-1]

    def customer(
        self,
        slots: Slots,
        *,
        topic: str,
        sentiment: str,
        question: bool,
        kind: str,
        source: str,
        phrase: str | None = None,
        rate: float | None = None,
        chat_opening: bool = False,
    ) -> Composed:
        """Compose one noisy customer text; ``phrase`` (an incident's) is kept verbatim.

        ``rate`` is the writer's teencode rate (drawn from the source's noise profiles when
        None); ``chat_opening`` adds the greeting and details of a conversation's first turn.
        """
        rand = slots.rand
        if rate is None:
            rate = self.noiser.teencode_rate(source, rand)
        flags: list[str] = []
        topics = [topic]
        body = self.render(
            pick(self.pools[(topic, kind, "question" if question else sentiment)], rand),
            slots,
            rate,
        )
        if question:
            flags.append("question")
        elif rand() < _SECOND_CLAUSE[source]:
            other = self._secondary_topic(kind, topic, rand)
            other_sentiment = sentiment if rand() < 0.5 else pick(_SENTIMENTS, rand)
            second = self.render(
                pick(self.pools[(other, kind, other_sentiment)], rand), slots, rate
            )
            topics.append(other)
            if _POLARITY[other_sentiment] * _POLARITY[sentiment] < 0:
                body = f"{second}, {pick(self.contrast, rand)} {body}"
            else:
                body = f"{body}, {pick(self.addition, rand)} {second}"
        if not question and rand() < 0.22:
            body = f"{self.render(pick(self.openers[sentiment], rand), slots, rate)}, {body}"
        if not question:
            body = self._closer(body, sentiment, source, slots, flags, rate)
        if sentiment == "negative" and not question:
            flags.append("complaint")
        elif sentiment == "positive":
            flags.append("praise")
        if phrase is not None:
            frame = self.render(pick(self.phrase_frames, rand), slots, rate)
            body = f"{frame}, {body}" if rand() < 0.5 else f"{body}, {frame}"
        if chat_opening:
            if rand() < 0.55:
                greetings = self.asks if question else self.greetings
                body = f"{self.render(pick(greetings, rand), slots, rate)} {body}"
            if rand() < 0.3:
                body = f"{body}, {self.render(pick(self.details, rand), slots, rate)}"
        text = self.noiser.post(body, source, rand)
        text = self._surface(text, sentiment, question, source, rand)
        if phrase is not None:
            text = text.replace(PHRASE_MARK, phrase)
        return Composed(text, tuple(topics), tuple(flags))

    def english(self, slots: Slots, *, topic: str, sentiment: str) -> Composed:
        """Compose a short English text (a few customers do not write Vietnamese)."""
        rand = slots.rand
        text = _fill(pick(self.english_clauses[topic][sentiment], rand), slots)
        closers = self.english_closers.get(sentiment)
        if closers and rand() < 0.35:
            text = f"{text}, {pick(closers, rand)}"
        text = text[:1].upper() + text[1:] + pick(self.endings[sentiment], rand)
        if rand() < 0.25:
            text = f"{text} {pick(self.emoji[sentiment], rand)}"
        flags = {"negative": ("complaint",), "positive": ("praise",)}.get(sentiment, ())
        return Composed(text, (topic,), flags)

    def _closer(
        self, body: str, sentiment: str, source: str, slots: Slots, flags: list[str], rate: float
    ) -> str:
        rand = slots.rand
        roll = rand()
        closers = self.closers
        if sentiment == "negative":
            churn, urgent = _CHURN[source], _URGENT[source]
            if roll < churn:
                flags.append("churn_risk")
                return f"{body}, {self.render(pick(closers['churn'], rand), slots, rate)}"
            if roll < churn + urgent:
                flags.append("urgent")
                return f"{body}, {self.render(pick(closers['urgent'], rand), slots, rate)}"
            if roll < churn + urgent + 0.2:
                return f"{body}, {self.render(pick(closers['negative'], rand), slots, rate)}"
            return body
        if roll < (0.3 if sentiment == "positive" else 0.12):
            return f"{body}, {self.render(pick(closers[sentiment], rand), slots, rate)}"
        return body

    def _surface(self, text: str, sentiment: str, question: bool, source: str, rand: Rand) -> str:
        """Casing, clause joints, final punctuation and emoji."""
        cfg = self.noise_cfg
        joint = rand()
        if joint < 0.18:
            text = text.replace(", ", ". ")
        elif joint < 0.28:
            text = text.replace(", ", " ")
        casing = rand()
        if sentiment == "negative" and casing < cfg["all_caps_negative"]:
            text = text.upper()
        elif casing > cfg["lowercase"]:
            text = text[:1].upper() + text[1:]
            if joint < 0.18:
                text = ". ".join(p[:1].upper() + p[1:] for p in text.split(". "))
        text += pick(self.endings["question" if question else sentiment], rand)
        if rand() < cfg["emoji_rate"][source]:
            icon = pick(self.emoji[sentiment], rand)
            repeat = 1 + int(rand() * 3) if rand() < 0.3 else 1
            second = pick(self.emoji[sentiment], rand) if rand() < 0.2 else ""
            text = f"{text} {icon * repeat}{second}" if rand() < 0.88 else f"{icon} {text}"
        return text

    def social_post(
        self, text: str, slots: Slots, *, question: bool = False, english: bool = False
    ) -> str:
        """Dress a composed text as a social post: prefix, hashtags, a link, HTML leftovers.

        English posts get only the link and HTML leftovers (prefixes and hashtags are
        Vietnamese).
        """
        rand, cfg = slots.rand, self.noise_cfg
        if not english and rand() < 0.25:
            prefix = _fill(
                pick(self.question_prefixes if question else self.social_prefixes, rand), slots
            )
            text = f"{prefix} {text}" if prefix.endswith(":") else f"{prefix}, {text}"
        if not english and rand() < cfg["hashtags_social"]:
            tags = {_fill(pick(self.hashtags, rand), slots) for _ in range(1 + int(rand() * 3))}
            text = f"{text} {' '.join(sorted(tags))}"
        if rand() < cfg["url_social"]:
            text = f"{text} {_fill(pick(self.url_hosts, rand), slots)}"
        if rand() < cfg["html_social"]:
            if ", " in text and rand() < 0.6:
                text = text.replace(", ", pick(self.html_joins, rand), 1)
            else:
                quote = pick(self.html_quotes, rand)
                text = f"{quote}{text}{quote}"
        return text

    # -- chats ---------------------------------------------------------------------------

    def chat_turns(
        self,
        slots: Slots,
        *,
        turns: int,
        topic: str,
        sentiment: str,
        question: bool,
        kind: str,
        agent_first: bool,
        phrase: str | None = None,
    ) -> list[tuple[str, Composed]]:
        """Compose the turns of one conversation: ``(role, composed)`` pairs, roles alternating.

        The customer keeps one writing style (teencode rate) over the conversation; agent
        turns are polite templates without noise.
        """
        rand = slots.rand
        rate = self.noiser.teencode_rate("chat", rand)
        agent = self.agent
        out: list[tuple[str, Composed]] = []
        first_customer = first_agent = True
        for i in range(turns):
            last = i == turns - 1
            if (i % 2 == 0) != agent_first:  # a customer turn
                if first_customer:
                    composed = self.customer(
                        slots,
                        topic=topic,
                        sentiment=sentiment,
                        question=question,
                        kind=kind,
                        source="chat",
                        phrase=phrase,
                        rate=rate,
                        chat_opening=True,
                    )
                    first_customer = False
                else:
                    flags: list[str] = []
                    turn_sentiment: str | None = None
                    roll = rand()
                    if last:
                        line = pick(self.customer_closings[sentiment], rand)
                    elif roll < 0.35:
                        line = pick(self.details, rand)
                        turn_sentiment = "neutral"
                    elif sentiment == "negative" and roll < 0.5:
                        which = "churn" if rand() < 0.5 else "urgent"
                        flags.append("churn_risk" if which == "churn" else "urgent")
                        line = pick(self.closers[which], rand)
                    else:
                        line = pick(self.follow_ups[sentiment], rand)
                    text = self.noiser.post(self.render(line, slots, rate), "chat", rand)
                    if sentiment == "negative" and turn_sentiment is None:
                        flags.append("complaint")
                    composed = Composed(text, (topic,), tuple(flags), turn_sentiment)
                out.append(("customer", composed))
                continue
            parts: list[str] = []
            if last and not first_agent:
                parts.append(pick(agent["closings"], rand))
            elif first_agent:
                parts.append(pick(agent["greetings"], rand))
                if i > 0 and sentiment == "positive" and not question:
                    parts.append(pick(agent["thanks"], rand))
                elif i > 0:
                    if sentiment == "negative":
                        parts.append(pick(agent["apologies"], rand))
                    answers = agent["answers"][topic]
                    parts.append(pick(agent["ask_details"] if rand() < 0.5 else answers, rand))
            elif sentiment == "positive":
                parts.append(pick(agent["thanks"], rand))
            else:
                parts.append(
                    pick(agent["answers"][topic] if rand() < 0.6 else agent["updates"], rand)
                )
            first_agent = False
            text = " ".join(_fill(p, slots) for p in parts)
            previous = out[-2][1].text if len(out) >= 2 else ""
            for _ in range(3):  # an agent does not repeat their previous turn word for word
                if text != previous:
                    break
                text = _fill(pick(agent["updates"], rand), slots)
            out.append(("agent", Composed(text, (topic,), ())))
        return out


def _fill(template: str, slots: Slots) -> str:
    return template.format_map(slots) if "{" in template else template


_SENTIMENTS = ("positive", "neutral", "negative")
_POLARITY = {"positive": 1, "neutral": 0, "negative": -1}
_SECOND_CLAUSE = {"review": 0.3, "social": 0.2, "chat": 0.1}
_CHURN = {"review": 0.12, "social": 0.15, "chat": 0.12}
_URGENT = {"review": 0.06, "social": 0.05, "chat": 0.2}
