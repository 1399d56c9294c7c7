"""The queues per host (`HostQueues`) on their own, with a clock the test moves: `per_host`
places per host, hosts taking turns, and the politeness rate (`per_host_rate`) as a rest
between two starts of one host's fetches that never holds back another host."""

from __future__ import annotations

from bot.polling.hosts import HostQueues, host_of
from bot.store import SourceRecord
from tests.builders import source_record


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def source(n: int, host: str) -> SourceRecord:
    return source_record(id=n, url=f"https://{host}/feed/{n}")


def fill(queues: HostQueues, **counts: int) -> None:
    n = 0
    for host, count in counts.items():
        for _ in range(count):
            n += 1
            queues.add(source(n, host), host)


def take_all(queues: HostQueues) -> list[str]:
    taken = []
    while (item := queues.take()) is not None:
        taken.append(item[1])
    return taken


def test_hosts_take_turns_up_to_per_host_each():
    queues = HostQueues(2)
    fill(queues, a=5, b=1, c=3)
    assert take_all(queues) == ["a", "b", "c", "a", "c"]
    assert len(queues) == 4
    queues.fetched("a")
    assert take_all(queues) == ["a"]
    assert queues.rested_until() is None  # no rate: nothing ever rests


def test_at_a_rate_a_host_rests_between_starts_and_goes_again_when_its_rest_is_over():
    clock = Clock()
    queues = HostQueues(4, rate=2.0, clock=clock)  # a start every half second
    fill(queues, a=3)
    assert take_all(queues) == ["a"]  # a free place, but its next start is not due
    assert queues.rested_until() == 100.5
    clock.now = 100.4
    assert (queues.rested_until(), take_all(queues)) == (100.5, [])
    clock.now = 100.5
    assert queues.rested_until() is None  # woken: its turn is back
    assert take_all(queues) == ["a"]
    assert queues.rested_until() == 101.0  # and it rests again


def test_a_host_resting_for_its_rate_holds_back_no_other_host():
    clock = Clock()
    queues = HostQueues(4, rate=1.0, clock=clock)
    fill(queues, a=3, b=2)
    assert take_all(queues) == ["a", "b"]
    fill(queues, c=1)
    assert take_all(queues) == ["c"]


def test_a_host_that_waited_its_rest_out_meanwhile_starts_at_once():
    clock = Clock()
    queues = HostQueues(1, rate=1.0, clock=clock)
    fill(queues, a=2)
    assert take_all(queues) == ["a"]
    clock.now = 102.0  # its one place was busy past its rest
    queues.fetched("a")
    assert take_all(queues) == ["a"]


def test_a_sources_host_is_its_urls_host_name():
    assert host_of("https://News.Example:8443/live?x=1") == "news.example"
    assert host_of("http://[::1]:80/feed") == "::1"
    assert host_of("not a url") == ""
