"""The remote planner: any OpenAI-compatible chat endpoint or Hugging Face inference provider.

Settings come from the environment first, then the preset:
  STUDIO_PLANNER_URL       base URL of an OpenAI-compatible server (…/v1/chat/completions is appended)
  STUDIO_PLANNER_MODEL     model name at that server or provider
  STUDIO_PLANNER_PROVIDER  Hugging Face inference provider (e.g. together) when no URL is set
  STUDIO_PLANNER_TOKEN or HF_TOKEN   the API key (never logged)

It asks for a json_schema response (huggingface_hub sends it to a base URL in TGI's form,
{"type": "json_object", "value": schema}, and converts it for each provider); a server that refuses that format (HTTP 400/404/415/422/501)
is asked for json_object, then for plain text, which goes through the same repair. An answer that
still fails is sent back once more with the error, up to preset.planning.max_retries times.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from studio.config import Preset
from studio.errors import StudioError, ValidationError, first_line
from studio.plan.prompts import planner_messages, retry_messages
from studio.plan.repair import parse_json_text, repair_script
from studio.plan.schema import script_schema
from studio.project.model import Script

logger = logging.getLogger(__name__)

# Status codes with which a server says "I do not support that request shape" (so try a simpler one).
FORMAT_REFUSED = {400, 404, 415, 422, 501}


@dataclass
class RemoteSettings:
    base_url: str
    model: str
    provider: str
    token: str | None
    timeout: float

    @property
    def where(self) -> str:
        return self.base_url or f"provider {self.provider or 'auto'}"

    def __repr__(self) -> str:  # never show the token
        return f"RemoteSettings(base_url={self.base_url!r}, model={self.model!r}, provider={self.provider!r}, timeout={self.timeout})"


def remote_settings(preset: Preset) -> RemoteSettings:
    planning = preset.planning
    settings = RemoteSettings(
        base_url=os.environ.get("STUDIO_PLANNER_URL", "").strip() or planning.remote_base_url,
        model=os.environ.get("STUDIO_PLANNER_MODEL", "").strip() or planning.remote_model,
        provider=os.environ.get("STUDIO_PLANNER_PROVIDER", "").strip() or planning.remote_provider,
        token=os.environ.get("STUDIO_PLANNER_TOKEN") or os.environ.get("HF_TOKEN") or None,
        timeout=planning.timeout_seconds,
    )
    if not settings.base_url and not settings.model:
        raise StudioError("the remote planner has no endpoint: set STUDIO_PLANNER_URL (an OpenAI-compatible server) "
                          "or STUDIO_PLANNER_MODEL (+ STUDIO_PLANNER_PROVIDER) for a Hugging Face provider, or use --planner rules")
    return settings


def _client(settings: RemoteSettings) -> Any:
    from huggingface_hub import InferenceClient

    if settings.base_url:
        return InferenceClient(base_url=settings.base_url, api_key=settings.token, timeout=settings.timeout)
    return InferenceClient(provider=settings.provider or "auto", api_key=settings.token, timeout=settings.timeout)


def _status(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)


def _one_line_error(error: BaseException, settings: RemoteSettings) -> StudioError:
    """The user's message for a failed request; the token never appears in it."""
    from huggingface_hub.errors import InferenceTimeoutError, OfflineModeIsEnabled

    where = settings.where
    status = _status(error)
    if isinstance(error, (InferenceTimeoutError, TimeoutError)):
        return StudioError(f"the remote planner at {where} did not answer within {settings.timeout:g} s; "
                           "try again, raise planning.timeout_seconds, or use --planner rules")
    if isinstance(error, OfflineModeIsEnabled):
        return StudioError("HF_HUB_OFFLINE is set, so the remote planner cannot connect; unset it or use --planner rules")
    if status in (401, 403):
        return StudioError(f"the remote planner at {where} refused the token (HTTP {status}): "
                           "set STUDIO_PLANNER_TOKEN or HF_TOKEN to a valid key")
    if status == 429:
        return StudioError(f"the remote planner at {where} is rate-limited (HTTP 429): wait a minute and try again, "
                           "or use --planner rules")
    if status is not None and status >= 500:
        return StudioError(f"the remote planner at {where} failed (HTTP {status} server error): try again later, "
                           "or use --planner rules")
    if status is not None:
        return StudioError(f"the remote planner at {where} rejected the request (HTTP {status}); check "
                           "STUDIO_PLANNER_MODEL and STUDIO_PLANNER_URL")
    reason = first_line(error)
    reason = _redact(reason, settings)
    return StudioError(f"could not reach the remote planner at {where} ({reason}); check STUDIO_PLANNER_URL "
                       "and the network, or use --planner rules")


def _redact(text: str, settings: RemoteSettings) -> str:
    return text.replace(settings.token, "***") if settings.token else text


def _response_formats(schema: dict[str, Any]) -> list[dict[str, Any] | None]:
    return [
        {"type": "json_schema", "json_schema": {"name": "script", "schema": schema, "strict": True}},
        {"type": "json_object"},
        None,  # plain prompting; the instructions describe the JSON and repair does the rest
    ]


def _ask(client: Any, settings: RemoteSettings, messages: list[dict[str, str]], response_format: dict | None,
         max_tokens: int) -> str:
    kwargs: dict[str, Any] = {"messages": messages, "max_tokens": max_tokens, "temperature": 0.2}
    if settings.model:
        kwargs["model"] = settings.model
    if response_format is not None:
        kwargs["response_format"] = response_format
    output = client.chat_completion(**kwargs)
    try:
        content = output.choices[0].message.content
    except (AttributeError, IndexError, KeyError, TypeError):
        raise ValidationError("the remote planner's answer has no choices[0].message.content") from None
    return content or ""


def plan_remote(prompt: str, preset: Preset, num_scenes: int | None = None) -> Script:
    """Plan with a remote chat model; a one-line StudioError on HTTP errors, timeouts and unusable answers."""
    settings = remote_settings(preset)
    logger.info("remote planner: %r", settings)
    client = _client(settings)
    formats = _response_formats(script_schema(num_scenes))
    format_index = 0
    messages = planner_messages(prompt, num_scenes)
    attempts = max(1, preset.planning.max_retries)
    error = "no attempt was made"
    attempt = 0
    while attempt < attempts:
        response_format = formats[format_index]
        try:
            text = _ask(client, settings, messages, response_format, preset.planning.max_new_tokens)
        except ValidationError as rejected:
            text, error = "", _redact(str(rejected), settings)
        except Exception as failure:  # noqa: BLE001 - every transport error becomes one line for the user
            if _status(failure) in FORMAT_REFUSED and format_index < len(formats) - 1:
                format_index += 1  # the server does not do this response format: try the next, simpler one
                logger.info("remote planner refused response format %s (HTTP %s); trying %s",
                            (response_format or {}).get("type"), _status(failure), (formats[format_index] or {}).get("type", "text"))
                continue
            raise _one_line_error(failure, settings) from None
        else:
            try:
                # Redacted before parsing: a valid answer that echoes the key must not carry it into project.json,
                # the archive or an API response.
                return repair_script(parse_json_text(_redact(text, settings)), prompt, preset, num_scenes)
            except ValidationError as rejected:
                error = _redact(str(rejected), settings)  # the answer is quoted: a server may echo the key
        attempt += 1
        logger.warning("remote planner attempt %d rejected: %s", attempt, error)
        messages = retry_messages(planner_messages(prompt, num_scenes), text, error)
    raise StudioError(f"the remote planner at {settings.where} gave no usable script in {attempts} attempts "
                      f"(last: {error}); try again or use --planner rules")
