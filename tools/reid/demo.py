"""The demo clip: two people from package-shipped photos, entering, crossing and leaving."""

from __future__ import annotations

from pathlib import Path

from tools.reid import synth
from tools.reid.schemas import PersonSpec

DEMO_SECONDS = 12.0


def build_demo(out_dir: Path) -> tuple[Path, list[PersonSpec]]:
    """Writes the clip and one reference photo per person; returns the clip and the persons.

    Eileen (the astronaut) is on screen 1–8 s, gliding left to right; Grace from 4 s to 11 s
    on the right; they are together 4–8 s.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    eileen, grace = out_dir / "eileen.png", out_dir / "grace.jpg"
    synth.astronaut().save(eileen)
    synth.grace_hopper().save(grace)
    clip = synth.write_clip(
        out_dir / "demo.mp4",
        [
            synth.Actor(synth.astronaut_portrait(), 1.0, 8.0, synth.glide(0.2, 0.4, 7.0, height=0.55)),
            synth.Actor(synth.hopper_portrait(), 4.0, 11.0, synth.still(0.78, height=0.5)),
        ],
        DEMO_SECONDS,
    )
    return clip, [PersonSpec(name="Eileen", photos=[str(eileen)]), PersonSpec(name="Grace", photos=[str(grace)])]
