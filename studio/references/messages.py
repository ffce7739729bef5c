"""What the studio says after a reference is made again.

Regenerate draws a new take of the entity (a new seed: on the animatic a new pose, palette and paper;
on a model a new picture). The creator approved the old picture, not this one, so the new take is
pending until they approve it: keeping the approval would put a picture nobody has looked at into every
scene. The message says so, instead of the card going back to pending unannounced.
"""

from __future__ import annotations

from studio.project.model import Entity


def regenerated_message(entity: Entity, was_approved: bool) -> str:
    """One line for the References tab after `entity`'s reference was made again."""
    name = entity.name or entity.id
    if was_approved:
        return (f"New take of {name} (seed {entity.seed}). It was approved; this new take is pending until you "
                f"approve it; until then the scene images are made without it as a reference.")
    return f"New take of {name} (seed {entity.seed}); approve it, or regenerate again."
