"""The local LLM planner: a small instruct model through transformers, decoding constrained to the schema.

llguidance turns the script's JSON Schema into a token mask for every step, so even a random model
can only write schema-valid JSON (the `tiny` preset's Llama is random). The answer then goes through
repair; if it still fails (cut off at max_new_tokens, or no usable scene), the model is asked again
with the error in the conversation, up to preset.planning.max_retries times.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from studio.config import Preset
from studio.errors import StudioError, ValidationError, first_line
from studio.plan.prompts import planner_messages, retry_messages
from studio.plan.repair import parse_json_text, repair_script
from studio.plan.schema import compact_script_schema, script_schema
from studio.project.model import Script

logger = logging.getLogger(__name__)

def _schema_matcher_factory(tokenizer: Any, vocab_size: int, schema: dict[str, Any]):
    """A function that returns a fresh llguidance matcher for `schema` (the tokenizer is wrapped once)."""
    import llguidance
    import llguidance.hf

    ll_tokenizer = llguidance.hf.from_tokenizer(tokenizer, n_vocab=vocab_size)
    # Fixed whitespace: a small model otherwise wanders into spaces until it runs out of tokens.
    grammar = llguidance.LLMatcher.grammar_from_json_schema(schema, defaults={"whitespace_flexible": False})
    is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(grammar, ll_tokenizer)
    if is_error:
        raise StudioError(f"the script schema could not be compiled for constrained decoding: {messages[0][:200]}")
    return lambda: llguidance.LLMatcher(ll_tokenizer, grammar, log_level=0)


def _constraint_processor(matcher: Any, prompt_length: int, eos_token_id: int):
    """A transformers LogitsProcessor that masks every token the schema does not allow next."""
    import numpy as np
    import torch
    from transformers import LogitsProcessor

    eos = torch.tensor([eos_token_id])

    class SchemaConstraint(LogitsProcessor):
        def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
            generated = input_ids.shape[1] - prompt_length
            if generated > 0:  # the token chosen last step
                matcher.consume_token(int(input_ids[0, -1]))
            if matcher.is_error():  # end now: the answer is checked (and rejected) afterwards
                return torch.full_like(scores, float("-inf")).index_fill_(-1, eos, 0.0)
            words = np.frombuffer(matcher.compute_bitmask(), dtype=np.uint8)  # 32 tokens per 4 bytes, LSB first
            allowed = np.unpackbits(words, bitorder="little")[: scores.shape[-1]].astype(bool)
            mask = torch.from_numpy(allowed).to(scores.device)  # (vocab,)
            if mask.shape[0] < scores.shape[-1]:
                mask = torch.nn.functional.pad(mask, (0, scores.shape[-1] - mask.shape[0]))
            return scores.masked_fill(~mask, float("-inf"))  # (1, vocab)

    return SchemaConstraint()


def generate_json(model: Any, tokenizer: Any, messages: list[dict[str, str]], make_matcher,
                  max_new_tokens: int) -> tuple[str, bool]:
    """The model's constrained answer and whether the grammar finished (False = cut off at max_new_tokens)."""
    import torch
    from transformers import LogitsProcessorList

    encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    encoded = {k: v.to(model.device) for k, v in encoded.items()}
    prompt_length = encoded["input_ids"].shape[1]
    matcher = make_matcher()
    with torch.inference_mode():
        output = model.generate(
            **encoded, max_new_tokens=max_new_tokens, do_sample=False,
            logits_processor=LogitsProcessorList([_constraint_processor(matcher, prompt_length, tokenizer.eos_token_id)]),
            pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
        )
    new_tokens = output[0, prompt_length:].tolist()  # (generated,)
    if new_tokens and new_tokens[-1] == tokenizer.eos_token_id:
        new_tokens = new_tokens[:-1]
    else:  # the last token was never shown to the processor
        matcher.consume_token(new_tokens[-1]) if new_tokens else None
    text = tokenizer.decode(new_tokens, skip_special_tokens=True)
    return text, matcher.is_accepting()


class PlannerModelUnavailable(StudioError):
    """The local planner's model could not be loaded (not downloaded, offline, no memory)."""


def load_planner_model(preset: Preset) -> tuple[Any, Any]:
    """(model, tokenizer) of the preset's planner LLM; PlannerModelUnavailable when it cannot load."""
    from studio.models.cache import get_component

    try:
        from studio.models.memory import enter_stage

        found = get_component(preset, "llm")
        enter_stage(preset, "plan")
        return found
    except Exception as error:  # OSError offline, a missing download, out of memory: all mean 'no model here'
        raise PlannerModelUnavailable(
            f"the planner model {preset.models.planner_llm} could not be loaded ({first_line(error)[:160]})") from error


def plan_local(prompt: str, preset: Preset, num_scenes: int | None = None) -> Script:
    """Plan with the preset's local LLM; a StudioError when no attempt gives a usable script."""
    model, tokenizer = load_planner_model(preset)
    vocab_size = model.get_output_embeddings().weight.shape[0]
    budget = preset.planning.max_new_tokens
    make_matcher = _schema_matcher_factory(tokenizer, vocab_size, script_schema(num_scenes))
    messages = planner_messages(prompt, num_scenes)
    attempts = max(1, preset.planning.max_retries)
    error = "no attempt was made"
    for attempt in range(attempts):
        started = time.perf_counter()
        text, finished = generate_json(model, tokenizer, messages, make_matcher, budget)
        logger.info("local planner attempt %d: %d characters in %.1f s", attempt + 1, len(text), time.perf_counter() - started)
        try:
            if not finished:
                # The next attempt gets a schema whose longest answer fits the budget, so it cannot be cut off.
                make_matcher = _schema_matcher_factory(tokenizer, vocab_size, compact_script_schema(budget, num_scenes))
                raise ValidationError(f"the answer was cut off after {budget} tokens; write fewer, shorter scenes")
            return repair_script(parse_json_text(text), prompt, preset, num_scenes)
        except ValidationError as rejected:
            error = str(rejected)
            logger.warning("local planner attempt %d rejected: %s", attempt + 1, error)
            messages = retry_messages(planner_messages(prompt, num_scenes), text, error)
    raise StudioError(
        f"the local planner ({preset.models.planner_llm}) gave no usable script in {attempts} attempts (last: {error}); "
        "try again, raise planning.max_new_tokens, or use --planner rules"
    )


def constrained_sample(preset: Preset, schema: dict[str, Any], prompt: str, max_new_tokens: int) -> tuple[Any, bool]:
    """One constrained answer to `prompt` under any `schema` (parsed JSON, finished?): a smoke test of the decoder."""
    from studio.models.cache import get_component

    model, tokenizer = get_component(preset, "llm")
    make_matcher = _schema_matcher_factory(tokenizer, model.get_output_embeddings().weight.shape[0], schema)
    text, finished = generate_json(model, tokenizer, [{"role": "user", "content": prompt}], make_matcher, max_new_tokens)
    return (json.loads(text) if finished else text), finished
