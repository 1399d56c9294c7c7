"""The pure rules of forum posts: which tags say a story's status, how a post is retagged,
which post is the story's, and when /subscribe refuses a forum."""

from __future__ import annotations

import pytest

from bot.delivery.discord_sink.forums import (
    StatusTags,
    find_post,
    forum_refusal,
    post_title,
    retagged,
    status_tags,
)
from bot.model import StoryStatus

LIVE, ENDED, OTHER = 10, 20, 30
TAGS = StatusTags(live=LIVE, ended=ENDED)


def test_status_tags_are_found_by_name_in_any_case_first_of_each_wins():
    available = [
        {"id": "1", "name": "Breaking"},
        {"id": "2", "name": " LIVE "},
        {"id": "3", "name": "live"},
        {"id": "4", "name": "Ended"},
    ]
    assert status_tags(available) == StatusTags(live=2, ended=4)
    assert status_tags([{"id": "5", "name": "Live now"}]) == StatusTags()
    assert not StatusTags().any and StatusTags(ended=1).any


@pytest.mark.parametrize(
    ("current", "tags", "status", "expected"),
    [
        ([], TAGS, StoryStatus.LIVE, [LIVE]),
        ([LIVE], TAGS, StoryStatus.LIVE, None),  # nothing changes
        ([LIVE], TAGS, StoryStatus.QUIET, None),  # quiet is still covered live
        ([OTHER, LIVE], TAGS, StoryStatus.ENDED, [OTHER, ENDED]),  # other tags kept
        ([ENDED], TAGS, StoryStatus.LIVE, [LIVE]),
        ([LIVE], StatusTags(live=LIVE), StoryStatus.ENDED, None),  # no Ended tag: left as is
        ([1, 2, 3, 4, 5], TAGS, StoryStatus.LIVE, [1, 2, 3, 4, 5]),  # five at most
    ],
)
def test_retagging_moves_only_the_status_tag(current, tags, status, expected):
    result = retagged(current, tags, status)
    if expected == current:
        assert result is None
    else:
        assert result == expected


def thread(id_: int, **overrides):
    data = {"id": str(id_), "parent_id": "7", "owner_id": "99", "name": "Mars"}
    data.update(overrides)
    return data


def test_the_storys_post_is_the_oldest_open_one_of_the_forum_made_by_bulletin():
    threads = [
        thread(5, owner_id="1"),  # a member's post of the same name
        thread(4, parent_id="8"),  # another forum
        thread(3, name="Mars rover"),
        thread(2, thread_metadata={"locked": True}),  # closed by a moderator
        thread(9),
        thread(6),
    ]
    assert find_post(threads, forum_id=7, owner_id=99, title="Mars") == 6
    assert find_post(threads[:4], forum_id=7, owner_id=99, title="Mars") is None


def test_a_post_title_is_the_story_name_within_discords_limit():
    assert post_title("  Mars  ") == "Mars"
    assert len(post_title("x" * 300)) == 100
    assert post_title("") == "Updates"


def test_only_a_forum_requiring_tags_without_status_tags_is_refused():
    assert forum_refusal(False, StatusTags(), "<#1>") is None
    assert forum_refusal(True, StatusTags(ended=1), "<#1>") is None
    refusal = forum_refusal(True, StatusTags(), "<#1>")
    assert refusal is not None and refusal.startswith("<#1> requires a tag on every post")


def test_a_new_post_takes_its_status_tag_or_in_a_forum_requiring_one_the_other():
    assert TAGS.for_new_post(StoryStatus.QUIET, required=True) == LIVE
    only_ended = StatusTags(ended=ENDED)
    assert only_ended.for_new_post(StoryStatus.LIVE, required=False) is None
    assert only_ended.for_new_post(StoryStatus.LIVE, required=True) == ENDED
    assert StatusTags().for_new_post(StoryStatus.LIVE, required=True) is None
