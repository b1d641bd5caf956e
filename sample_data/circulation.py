"""Circulation: checkouts, hand-overs through the mini-program, renewals and returns, and a few quirks."""

from __future__ import annotations

import math
import random

from sample_data.books import Item
from sample_data.events import Event
from sample_data.people import Calendar, Reader, ReaderPicker
from sample_data.places import Branch
from sample_data.settings import END, START

# ---------------------------------------------------------------------------------------------
# Circulation
# ---------------------------------------------------------------------------------------------
TRANSFER_SHARE = {"central": 0.14, "branch": 0.16, "micro": 0.70, "micro_closed": 0.45, "shared": 0.90}
HOLDERS_WEIGHTS = [35, 25, 15, 10, 7, 5, 3]  # 1..7 transfers, i.e. 2..8 holders
CHECKOUT_CHANNELS = {
    "central": (["counter", "self_service", "face"], [25, 45, 30]),
    "branch": (["counter", "self_service", "face"], [45, 35, 20]),
    "micro": (["counter", "self_service", "face"], [55, 25, 20]),
}
RETURN_COUNTER_SHARE = {"central": 0.3, "branch": 0.5, "micro": 0.7}


class Simulation:
    def __init__(self, rng: random.Random, branches: list[Branch], readers: list[Reader], items: list[Item]):
        self.rng = rng
        self.cal = Calendar(rng)
        self.branches = {b.branch_id: b for b in branches}
        self.readers = readers
        self.items = items
        self.picker = ReaderPicker(rng, readers)
        self.events: list[Event] = []
        self.public_by_town: dict[str, list[Branch]] = {}
        for b in branches:
            if b.public and b.closed is None and b.kind != "central":
                self.public_by_town.setdefault(b.town, []).append(b)
        self.central = next(b for b in branches if b.kind == "central")

    # -- who ---------------------------------------------------------------------------------
    def borrower(self, b: Branch, day: int) -> int:
        if b.kind == "central":
            choices = [
                (("town", "440115001"), 0.35),
                (("town", "440115002"), 0.1),
                (("town", "440115003"), 0.05),
                (("all", ""), 0.5),
            ]
        elif b.kind == "branch":
            choices = [(("town", b.town), 0.85), (("all", ""), 0.15)]
        elif not b.public:
            choices = [(("home", b.branch_id), 1.0)]
        elif b.host_type == "community":
            choices = [
                (("home", b.branch_id), 0.3),
                (("comm", b.community), 0.3),
                (("town", b.town), 0.3),
                (("all", ""), 0.1),
            ]
        else:
            home = 0.55 if b.host_type == "enterprise" else 0.45
            choices = [(("home", b.branch_id), home), (("town", b.town), 0.9 - home), (("all", ""), 0.1)]
        return self.picker.pick(choices, day)

    def recipient(self, holder: int, start: Branch, day: int) -> int:
        r = self.readers[holder]
        if start.kind == "micro" and not start.public:
            choices = [(("home", start.branch_id), 0.8), (("comm", r.community), 0.2)]
        else:
            choices = [(("comm", r.community), 0.35), (("town", r.town), 0.45), (("all", ""), 0.2)]
        return self.picker.pick(choices, day, exclude=holder)

    def return_branch(self, start: Branch, holder: int, day: int, drifted: bool) -> Branch:
        if (not start.public) or self.rng.random() >= (0.35 if drifted else 0.15):
            return start
        town = self.readers[holder].town
        options = [b for b in self.public_by_town.get(town, []) if b.serves_on(day) and b is not start]
        if start is not self.central:
            options.append(self.central)
        return self.rng.choice(options) if options else start

    # -- when --------------------------------------------------------------------------------
    def add(self, action: str, day: int, profile: str, item: int, reader: int, **kw) -> Event:
        ev = Event(day, self.cal.seconds(profile, day), action, item, reader, **kw)
        self.events.append(ev)
        return ev

    def checkout_channel(self, b: Branch) -> str:
        names, weights = CHECKOUT_CHANNELS[b.kind]
        return self.rng.choices(names, weights)[0]

    def return_channel(self, b: Branch) -> str:
        return "counter" if self.rng.random() < RETURN_COUNTER_SHARE[b.kind] else "self_service"

    # -- what --------------------------------------------------------------------------------
    def run(self, partial_items: set[int]) -> None:
        for idx, item in enumerate(self.items):
            home = self.branches[item.home]
            available = max(START, item.added + 1, home.opened.toordinal() + 1)
            day = available
            if idx in partial_items:  # a loan that began before the export: only its return is in the file
                day = self.cal.settle(home.profile, available + self.rng.randint(0, 20))
                reader = self.picker.pick([(("town", home.town), 1.0)], START - 1)
                self.add(
                    "return", day, home.profile, idx, reader, branch=home.branch_id, channel=self.return_channel(home)
                )
                day += 1
            elif math.isinf(item.mean_gap):
                continue
            if math.isinf(item.mean_gap):
                item.mean_gap = 120.0
            first = True
            while True:
                gap = int(self.rng.expovariate(1 / item.mean_gap))
                day = self.cal.settle(home.profile, day + (gap if first else max(1, gap)))
                first = False
                if day > END:
                    break
                end = self.chain(idx, item, home, day)
                if end is None:
                    break
                day = end + 1

    def chain(self, idx: int, item: Item, start: Branch, day: int) -> int | None:
        """One loan chain from a checkout; returns the day the copy came back, or None if still out."""
        holder = self.borrower(start, day)
        ev = self.add(
            "checkout",
            day,
            start.profile,
            idx,
            holder,
            branch=start.branch_id,
            channel=self.checkout_channel(start),
            due=day + 30,
        )
        chain_events = [ev]
        if item.owner_reader >= 0:
            share = TRANSFER_SHARE["shared"]
        elif start.kind == "micro":
            share = TRANSFER_SHARE["micro" if start.public else "micro_closed"]
        else:
            share = TRANSFER_SHARE[start.kind]
        transfers = 0
        if self.rng.random() < share:
            transfers = self.rng.choices(range(1, 8), HOLDERS_WEIGHTS)[0]
        while True:
            hold = self.rng.randint(7, 30)
            if self.rng.random() < 0.07:  # renewal
                renew_day = day + self.rng.randint(10, 28)
                if renew_day <= END:
                    if self.rng.random() < 0.75:
                        self.add("renew", renew_day, "mini", idx, holder, channel="mini_program", due=renew_day + 30)
                    else:
                        self.add(
                            "renew",
                            renew_day,
                            start.profile,
                            idx,
                            holder,
                            branch=start.branch_id,
                            channel="counter",
                            due=renew_day + 30,
                        )
                hold = renew_day - day + self.rng.randint(5, 25)
            if transfers:
                next_day = self.cal.settle("mini", day + hold)
                if next_day > END:
                    return None
                new = self.recipient(holder, start, next_day)
                ev = self.add(
                    "transfer",
                    next_day,
                    "mini",
                    idx,
                    new,
                    from_reader=holder,
                    channel="mini_program",
                    due=next_day + 30,
                )
                chain_events.append(ev)
                holder, day, transfers = new, next_day, transfers - 1
                continue
            drifted = len(chain_events) > 1
            back_at = self.return_branch(start, holder, day + hold, drifted)
            next_day = self.cal.settle(back_at.profile, day + hold)
            if next_day > END:
                return None
            if not back_at.serves_on(next_day):
                back_at = start
            item.returns.append(
                self.add(
                    "return",
                    next_day,
                    back_at.profile,
                    idx,
                    holder,
                    branch=back_at.branch_id,
                    channel=self.return_channel(back_at),
                )
            )
            return next_day


def add_quirks(rng: random.Random, sim: Simulation) -> None:
    """Unterminated chains and transfers from someone who is not the holder."""
    # ~5 checkouts of a copy whose previous chain was never returned: drop that return.
    candidates = [(i, ev) for i, item in enumerate(sim.items) for ev in item.returns[:-1]]
    dropped = rng.sample(candidates, 5)
    dropped_ids = {id(ev) for _, ev in dropped}
    # ~10 transfers whose 转出读者证号 is not the current holder.
    transfers = [ev for ev in sim.events if ev.action == "transfer"]
    anomalies = rng.sample(transfers, 10)
    for ev in anomalies:
        town = sim.readers[ev.from_reader].town
        while True:
            other = sim.picker.pick([(("town", town), 1.0)], ev.day, exclude=ev.from_reader)
            if other != ev.reader:
                break
        ev.from_reader = other
    sim.events = [ev for ev in sim.events if id(ev) not in dropped_ids]


