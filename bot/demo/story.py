"""The story `bulletin demo` follows: a fictional rocket launch, written for this project.

Nothing here is real news: the rocket, the satellite, the spaceport, the newspaper and every
word of the updates are invented. Times are offsets from the moment the demo starts, so the page
never shows an update from the future.
"""

from __future__ import annotations

from dataclasses import dataclass

PUBLISHER = "The Northfield Courier"
HEADLINE = "Kestrel-4 launch live: Lumen-2 weather satellite lifts off from Saltmarsh Point"
STANDFIRST = (
    "Follow live as the Kestrel-4 rocket carries the Lumen-2 storm-tracking satellite to orbit "
    "from the Saltmarsh Point spaceport."
)


@dataclass(frozen=True, slots=True)
class DemoUpdate:
    """One update of the demo page.

    `step` is the step at which it appears (0: already there when the demo starts);
    `minutes_before` places the step-0 updates in the past.
    """

    slug: str
    step: int
    headline: str
    body: str
    minutes_before: int = 0
    image: str | None = None


UPDATES: tuple[DemoUpdate, ...] = (
    DemoUpdate(
        "welcome",
        0,
        "Launch day at Saltmarsh Point",
        "Good morning and welcome to our live coverage of the Kestrel-4 launch. The rocket stands "
        "on Pad 2 with the Lumen-2 weather satellite under its nose cone, and the launch window "
        "opens in a little under two hours. Forecasters give a 70 percent chance of acceptable "
        "weather.",
        minutes_before=40,
    ),
    DemoUpdate(
        "fuelling",
        0,
        "Fuelling is under way",
        "Controllers gave the go-ahead to load propellant into both stages. Fuelling takes about "
        "ninety minutes. Spectators with folding chairs are already lining the dunes north of "
        "the pad.",
        minutes_before=25,
    ),
    DemoUpdate(
        "what-lumen-does",
        0,
        "What Lumen-2 will do",
        "Once in orbit, Lumen-2 will photograph cloud over the North Atlantic every ten minutes. "
        "Forecasters say the pictures should give several extra hours of warning before coastal "
        "storms arrive. It is the second of three satellites in the series.",
        minutes_before=10,
    ),
    DemoUpdate(
        "final-hour",
        1,
        "Countdown enters its final hour",
        "The launch director has polled the team and every console reported ready. The access "
        "arm has swung away from the rocket and the pad is clear of staff.",
    ),
    DemoUpdate(
        "hold",
        2,
        "Hold called over high-altitude winds",
        "Controllers have paused the countdown at T-20 minutes: balloon readings show strong "
        "winds several miles above the pad. A new target time will follow once the next balloon "
        "is up.",
    ),
    DemoUpdate(
        "resumed",
        3,
        "Countdown resumes",
        "The latest balloon found the winds easing, and the countdown is running again. The "
        "hold cost 22 minutes, well inside the two-hour window.",
    ),
    DemoUpdate(
        "liftoff",
        5,
        "Lift-off!",
        "Kestrel-4 has cleared the tower, rising on a column of white exhaust over the marsh. "
        "The crowd on the dunes cheered as the sound reached them a few seconds later.",
        image="images/kestrel-liftoff.jpg",
    ),
    DemoUpdate(
        "staging",
        6,
        "First stage separates",
        "Two and a half minutes into the flight, the first stage has dropped away and the upper "
        "stage engine has lit. Controllers call the trajectory nominal.",
    ),
    DemoUpdate(
        "fairing",
        7,
        "Nose cone jettisoned",
        "The two halves of the protective fairing have separated, leaving Lumen-2 exposed to "
        "space for the first time.",
    ),
    DemoUpdate(
        "in-orbit",
        8,
        "Lumen-2 is in orbit",
        "The satellite has separated from the upper stage. Its solar panels are due to unfold "
        "over the next half hour.",
    ),
    DemoUpdate(
        "first-signal",
        9,
        "First signal received",
        "A ground station in the far north has picked up Lumen-2's first signal, confirming that "
        "the satellite is alive and its panels are producing power. The mission team says the "
        "first cloud images should arrive within a week.",
    ),
)

# The one correction of the demo: at step EDIT_STEP the "hold" update is rewritten.
EDIT_STEP = 4
EDITED_SLUG = "hold"
EDITED_BODY = (
    "Controllers paused the countdown at T-15 minutes, not T-20 as first reported: balloon "
    "readings showed strong winds several miles above the pad. A new target time will follow "
    "once the next balloon is up."
)

# The "Here’s what to know" box: one version before KEY_POINTS_STEP, another from it on.
KEY_POINTS_STEP = 5
KEY_POINTS_BEFORE: tuple[str, ...] = (
    "Kestrel-4 is due to carry the Lumen-2 weather satellite to orbit from Saltmarsh Point.",
    "The launch window lasts two hours; forecasters give a 70 percent chance of good weather.",
    "Lumen-2 is built to track storms over the North Atlantic.",
)
KEY_POINTS_AFTER: tuple[str, ...] = (
    "Kestrel-4 lifted off from Saltmarsh Point carrying the Lumen-2 weather satellite.",
    "High-altitude winds held the countdown for 22 minutes.",
    "Lumen-2 is built to track storms over the North Atlantic.",
)

DEMO_STEPS = 1 + max(update.step for update in UPDATES)
