"""What both LLM planners (local and remote) send: the system prompt, the messages, the retry after a bad answer."""

from __future__ import annotations

from studio.plan.schema import describe_schema_for_prompt

# VideoStudio's planning: events in order, each with its foreground entities, background and camera; every
# entity that recurs gets one detailed appearance description, because it becomes a reference image's prompt.
GUIDELINES = (
    "Write one scene per event of the idea, in order. Each entity's description is a detailed appearance for a "
    "reference image: species or age, build, colours, clothing, materials, distinctive marks; never what it does. "
    "A scene's background is the place and time of day without the characters. Camera and shot words (drone, "
    "aerial, close-up, time-lapse, slow motion) set the camera, they are never entities.\n"
)
EXAMPLES = (
    'Example idea: A red fox explores a snowy forest at dawn, then meets an old owl by a frozen lake.\n'
    'Example answer: {"entities": [{"id": "red-fox", "name": "red fox", "description": "a slender young red fox '
    'with a bushy white-tipped tail, amber eyes and thick winter fur", "kind": "character"}, {"id": "old-owl", '
    '"name": "old owl", "description": "a large grey-brown great horned owl with ruffled feathers and bright yellow '
    'eyes", "kind": "character"}], "scenes": [{"title": "Fox in the forest", "event": "The red fox walks through '
    'deep snow between pine trees", "entity_ids": ["red-fox"], "background": "a snowy pine forest at dawn, soft pink '
    'light", "camera": "tracking", "n_chunks": 8}, {"title": "The owl", "event": "The red fox meets the old owl '
    'perched on a branch by the lake", "entity_ids": ["red-fox", "old-owl"], "background": "the shore of a frozen '
    'lake at dawn", "camera": "static", "n_chunks": 8}]}\n'
    'Example idea: Aerial drone shot of a lighthouse keeper in a yellow raincoat climbing to the lamp in a storm.\n'
    'Example answer: {"entities": [{"id": "lighthouse-keeper", "name": "lighthouse keeper", "description": "a tall '
    'weathered man in his sixties with a grey beard, a yellow raincoat and black rubber boots", "kind": "character"}], '
    '"scenes": [{"title": "Climbing in the storm", "event": "The lighthouse keeper climbs the spiral stairs to the '
    'lamp", "entity_ids": ["lighthouse-keeper"], "background": "a white lighthouse on a rocky cliff in a night storm", '
    '"camera": "tilt down", "n_chunks": 8}]}\n'
)
SYSTEM_PROMPT = (
    "You are a film director's assistant. Turn the user's idea into a multi-scene video script.\n"
    + describe_schema_for_prompt() + "\n" + GUIDELINES + EXAMPLES
)


def planner_messages(prompt: str, num_scenes: int | None) -> list[dict[str, str]]:
    """The chat both LLM planners send: instructions, then the idea (and the scene count when fixed)."""
    count = f"Write exactly {num_scenes} scenes.\n" if num_scenes else ""
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": f"{count}Idea: {prompt}"}]


def retry_messages(messages: list[dict[str, str]], answer: str, error: str) -> list[dict[str, str]]:
    """The conversation plus the rejected answer and what was wrong with it."""
    return messages + [
        {"role": "assistant", "content": answer[:4000]},
        {"role": "user", "content": f"That answer was rejected: {error}. Answer again with the corrected JSON only."},
    ]
