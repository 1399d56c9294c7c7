from datetime import UTC, datetime, timedelta

import discord
import pytest

from bot.delivery.discord_sink.payloads import to_send_kwargs
from bot.delivery.render import (
    LATEST_HINT,
    RenderContext,
    batch_updates,
    embed_size,
    key_points_embed,
    render_correction,
    render_digest,
    render_key_points_change,
    render_status_change,
    story_colour,
    update_embed,
)
from bot.model import (
    EditedEntry,
    Entry,
    KeyPoints,
    KeyPointsChanged,
    KeyPointsKind,
    NewEntry,
    StatusChanged,
    StoryStatus,
)
from tests.hardening.payloads import render_edit, render_new_entry

T0 = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
CTX = RenderContext(
    story_name="Harbour flood",
    story_key=7,
    source_name="Coastline Gazette",
    source_url="https://gazette.example/live",
    role_id=555,
)


def entry(n=1, *, title="Sea wall holds", text="Engineers say the wall held overnight.", **kw):
    return Entry(
        id=f"u{n}",
        title=title,
        text=text,
        url=kw.pop("url", f"https://gazette.example/live#u{n}"),
        published=kw.pop("published", T0 + timedelta(minutes=n)),
        **kw,
    )


def only_embed(payload):
    assert len(payload["embeds"]) == 1
    return payload["embeds"][0]


# --- update embeds -----------------------------------------------------------------------


def test_update_embed_carries_title_link_time_source_and_story():
    embed = update_embed(entry(), CTX)
    assert embed["title"] == "Sea wall holds"
    assert embed["url"] == "https://gazette.example/live#u1"
    assert embed["timestamp"] == "2026-03-14T09:31:00+00:00"
    assert embed["author"] == {"name": "Coastline Gazette", "url": "https://gazette.example/live"}
    assert embed["footer"] == {"text": "Harbour flood"}
    assert embed["description"] == "Engineers say the wall held overnight."


def test_update_without_title_uses_the_story_name():
    assert update_embed(entry(title=None), CTX)["title"] == "Harbour flood"


def test_long_text_is_cut_at_a_sentence_with_read_more():
    text = " ".join(f"Sentence number {i} is here." for i in range(200))
    ctx = RenderContext(story_name="S", text_limit=300)
    description = update_embed(entry(text=text), ctx)["description"]
    body, _, link = description.rpartition("\n\n")
    assert body.endswith("is here.")
    assert len(body) <= 300
    assert link == "[Read more](https://gazette.example/live#u1)"


def test_long_text_without_sentences_is_cut_at_a_word():
    ctx = RenderContext(story_name="S", text_limit=100)
    description = update_embed(entry(text="word " * 500), ctx)["description"]
    assert description.split("\n\n")[0].endswith("word …")


def test_short_text_has_no_read_more():
    assert "Read more" not in update_embed(entry(), CTX)["description"]


def test_embed_only_update_still_has_title_time_and_link():
    embed = update_embed(entry(text=""), CTX)
    assert embed["title"] == "Sea wall holds"
    assert embed["timestamp"] == "2026-03-14T09:31:00+00:00"
    assert embed["url"] == "https://gazette.example/live#u1"
    assert "https://gazette.example/live#u1" in embed["description"]


def test_http_image_is_shown():
    embed = update_embed(entry(image="https://gazette.example/p.jpg"), CTX)
    assert embed["image"] == {"url": "https://gazette.example/p.jpg"}


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "data:image/png;base64,AA", "/p.jpg"])
def test_non_http_links_and_images_are_dropped(bad):
    embed = update_embed(entry(url=bad, image=bad), CTX)
    assert "url" not in embed
    assert "image" not in embed


def test_colour_is_the_same_for_the_same_story():
    assert update_embed(entry(1), CTX)["color"] == update_embed(entry(2), CTX)["color"]
    assert story_colour(7) == story_colour(7)


def test_different_stories_get_different_colours():
    colours = {story_colour(key) for key in range(20)}
    assert len(colours) >= 18


def test_colour_is_a_24_bit_rgb_value():
    assert all(0 <= story_colour(key) <= 0xFFFFFF for key in range(50))


def test_edited_update_is_marked_updated_with_the_edit_time():
    edited = entry(updated=T0 + timedelta(hours=1))
    embed = only_embed(render_edit(EditedEntry(edited, "Sea wall hold", "old"), CTX))
    assert embed["footer"]["text"] == "Updated · Harbour flood"
    assert embed["timestamp"] == "2026-03-14T10:30:00+00:00"


def test_source_text_renders_literally():
    embed = update_embed(entry(title="*Breaking*", text="Use [this](https://x.example) _now_"), CTX)
    assert embed["title"] == r"\*Breaking\*"
    assert embed["description"] == r"Use \[this\](https://x.example) \_now\_"


# --- mentions ----------------------------------------------------------------------------


def test_payloads_mention_no_one_by_default():
    payload = render_new_entry(NewEntry(entry()), CTX)
    assert payload["allowed_mentions"] == {"parse": []}
    assert payload["content"] == ""


def test_a_ping_mentions_only_the_subscription_role():
    payload = render_new_entry(NewEntry(entry()), CTX, ping=True)
    assert payload["allowed_mentions"] == {"parse": [], "roles": ["555"]}
    assert payload["content"] == "<@&555>"


def test_a_ping_without_a_role_mentions_no_one():
    ctx = RenderContext(story_name="S")
    payload = render_new_entry(NewEntry(entry()), ctx, ping=True)
    assert payload["allowed_mentions"] == {"parse": []}
    assert payload["content"] == ""


def test_mass_mentions_in_source_titles_are_neutralised():
    title = update_embed(entry(title="@everyone <@&555> evacuate"), CTX)["title"]
    assert "@everyone" not in title
    assert "<@&555>" not in title


# --- key points, status, corrections -------------------------------------------------------


def test_key_point_change_marks_added_strikes_removed_and_lists_all():
    change = KeyPointsChanged(
        KeyPointsKind.SUMMARY,
        added=("Ferries cancelled",),
        removed=("Ferries running late",),
        items=("Sea wall holds", "Ferries cancelled"),
    )
    embed = only_embed(render_key_points_change(change, CTX))
    assert embed["description"].splitlines() == [
        "• Sea wall holds",
        "• 🆕 **Ferries cancelled**",
        "• ~~Ferries running late~~ *(removed)*",
    ]


@pytest.mark.parametrize(
    ("kind", "label"),
    [(KeyPointsKind.SUMMARY, "Key points"), (KeyPointsKind.KEY_EVENTS, "Key events")],
)
def test_key_point_change_is_labelled_by_kind(kind, label):
    change = KeyPointsChanged(kind, added=("a",), removed=(), items=("a",))
    assert only_embed(render_key_points_change(change, CTX))["title"].startswith(label)


def test_many_key_points_end_with_and_k_more():
    items = tuple(f"Point {i} " + "x" * 300 for i in range(40))
    embed = key_points_embed(KeyPoints(KeyPointsKind.SUMMARY, items), CTX)
    assert embed["description"].splitlines()[-1].startswith("…and ")
    assert len(embed["description"]) <= 4096


def test_status_ended_says_coverage_ended():
    change = StatusChanged(StoryStatus.ENDED, StoryStatus.LIVE)
    assert only_embed(render_status_change(change, CTX))["title"].startswith("Coverage ended")


def test_correction_is_short_and_carries_the_new_text():
    edited = entry(text="The wall held. " * 200, updated=T0 + timedelta(days=2))
    payload = render_correction(
        EditedEntry(edited, "Sea wall holds", "old"),
        CTX,
        original_message_url="https://discord.com/channels/1/2/3",
    )
    embed = only_embed(payload)
    assert embed["title"] == "Correction: Sea wall holds"
    assert "> The wall held." in embed["description"]
    assert "[Earlier message](https://discord.com/channels/1/2/3)" in embed["description"]
    assert len(embed["description"]) <= 1000


# --- batching ----------------------------------------------------------------------------


def small_embeds(count):
    return [update_embed(entry(n), CTX) for n in range(count)]


def test_updates_are_batched_ten_embeds_per_message_in_order():
    payloads = batch_updates(small_embeds(25))
    assert [len(p["embeds"]) for p in payloads] == [10, 10, 5]
    titles = [e["timestamp"] for p in payloads for e in p["embeds"]]
    assert titles == sorted(titles)


def test_batches_stay_under_six_thousand_characters():
    ctx = RenderContext(story_name="S", text_limit=2000)
    embeds = [update_embed(entry(n, text="Long sentence here. " * 100), ctx) for n in range(6)]
    payloads = batch_updates(embeds)
    assert len(payloads) > 1
    assert all(sum(embed_size(e) for e in p["embeds"]) <= 6000 for p in payloads)
    assert sum(len(p["embeds"]) for p in payloads) == 6


def test_more_than_thirty_updates_keep_the_newest_thirty_and_say_how_many_more():
    embeds = small_embeds(42)
    payloads = batch_updates(embeds)
    sent = [e for p in payloads for e in p["embeds"]]
    assert sent == embeds[12:]
    assert payloads[-1]["content"] == f"and 12 more — {LATEST_HINT}"


def test_exactly_thirty_updates_are_all_sent():
    payloads = batch_updates(small_embeds(30))
    assert sum(len(p["embeds"]) for p in payloads) == 30
    assert all(p["content"] == "" for p in payloads)


def test_batch_ping_goes_in_the_first_message_only():
    payloads = batch_updates(small_embeds(15), ping_role=555)
    assert payloads[0]["content"] == "<@&555>"
    assert payloads[0]["allowed_mentions"] == {"parse": [], "roles": ["555"]}
    assert payloads[1]["allowed_mentions"] == {"parse": []}


def test_no_updates_make_no_messages():
    assert batch_updates([]) == []


# --- digests -----------------------------------------------------------------------------


def test_digest_with_nothing_new_is_nothing():
    key_points = KeyPoints(KeyPointsKind.SUMMARY, ("a",))
    assert render_digest([], key_points, CTX) is None


def test_digest_lists_titles_times_and_links_then_the_key_points():
    key_points = KeyPoints(KeyPointsKind.SUMMARY, ("Sea wall holds",))
    payload = render_digest([entry(1), entry(2, title="Roads reopen")], key_points, CTX)
    digest, points = payload["embeds"]
    stamp = int((T0 + timedelta(minutes=2)).timestamp())
    assert digest["description"].splitlines()[1] == (
        f"<t:{stamp}:t> [Roads reopen](https://gazette.example/live#u2)"
    )
    assert points["description"] == "• Sea wall holds"


def test_long_digest_ends_with_and_k_more():
    entries = [entry(n, title=f"Update {n} " + "y" * 100) for n in range(100)]
    payload = render_digest(entries, None, CTX)
    last = payload["embeds"][0]["description"].splitlines()[-1]
    assert last.startswith("…and ") and last.endswith(f"more — {LATEST_HINT}")


def test_digest_after_only_a_key_point_change_is_sent():
    key_points = KeyPoints(KeyPointsKind.SUMMARY, ("a",))
    assert render_digest([], key_points, CTX, key_points_changed=True) is not None


# --- discord.py adapter ------------------------------------------------------------------


def test_adapter_builds_discord_embeds_and_allowed_mentions():
    kwargs = to_send_kwargs(render_new_entry(NewEntry(entry()), CTX, ping=True))
    (embed,) = kwargs["embeds"]
    assert isinstance(embed, discord.Embed)
    assert embed.title == "Sea wall holds"
    assert embed.timestamp == T0 + timedelta(minutes=1)
    assert kwargs["allowed_mentions"].everyone is False
    assert [role.id for role in kwargs["allowed_mentions"].roles] == [555]


def test_adapter_sends_no_content_when_there_is_none():
    assert to_send_kwargs(render_new_entry(NewEntry(entry()), CTX))["content"] is None
