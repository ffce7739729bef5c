"""What both LLM planners (local and remote) send: the system prompt, the messages, the retry after a bad answer."""

from __future__ import annotations

from studio.plan.schema import describe_schema_for_prompt

SYSTEM_PROMPT = (
    "You are a film director's assistant. Turn the user's idea into a multi-scene video script.\n"
    + describe_schema_for_prompt()
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
