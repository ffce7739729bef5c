"""Input checks and error handling shared by the handlers: numbers typed in the page, uploads, gr.Error."""

import functools
import inspect
import logging
import math
import re
from pathlib import Path
from typing import Any, Callable

import gradio as gr

from studio.errors import StudioError, ValidationError, no_space_message
from studio.media.images import MAX_UPLOAD_BYTES
from studio.project.model import MAX_SEED

logger = logging.getLogger(__name__)



# An absolute path in a message: the page shows its file name only (the server's folders, the session
# digest in them, are nobody's business in a browser).
_ABSOLUTE_PATH = re.compile(r"(?<![\w.])(?:/|[A-Za-z]:\\)(?:[^\s'\",;()/\\]+[/\\])+([^\s'\",;()/\\]+)")


def hide_paths(text: str) -> str:
    """`text` with every absolute path cut to its file name."""
    return _ABSOLUTE_PATH.sub(r"\1", text)


def one_line(error: BaseException) -> str:
    text = hide_paths(" ".join(str(error).split()))
    return text[:400] or type(error).__name__


def _translate(error: BaseException) -> gr.Error:
    if isinstance(error, gr.Error):
        return error
    if isinstance(error, StudioError):
        return gr.Error(one_line(error), print_exception=False)
    if no_space_message(error):  # the server's disk: its folders are not the visitor's to see
        return gr.Error("the studio's disk is full, so this was not saved: delete projects or exports you no longer "
                        "need, or ask whoever runs the studio to free space", print_exception=False)
    if isinstance(error, ModuleNotFoundError) and (error.name or "").startswith("studio."):
        return gr.Error(f"this stage is not available in this version ({error.name} is missing)", print_exception=False)
    logger.exception("unexpected error in a handler")
    return gr.Error(f"internal error ({type(error).__name__}: {one_line(error)[:160]}); details are in the server log",
                    print_exception=False)


def inline_errors(outputs: int, message_at: int = -1) -> Callable[[Callable], Callable]:
    """Bad input (a ValidationError) becomes one line in the event's message output, `message_at` of
    `outputs`, and every other output is left as it was (gr.skip): no Error badge over outputs the
    request never touched. Other errors are `user_errors`' one-line gr.Error."""
    def refusal(error: ValidationError):
        values = [gr.skip()] * outputs
        values[message_at] = f"⚠ {one_line(error)}"
        return values[0] if outputs == 1 else tuple(values)

    def decorate(function: Callable) -> Callable:
        if inspect.isgeneratorfunction(function):
            @functools.wraps(function)
            def generator_wrapper(*args, **kwargs):
                try:
                    yield from function(*args, **kwargs)
                except ValidationError as error:
                    logger.info("bad input: %s", one_line(error))
                    yield refusal(error)
            return user_errors(generator_wrapper)

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except ValidationError as error:
                logger.info("bad input: %s", one_line(error))
                return refusal(error)
        return user_errors(wrapper)
    return decorate


def user_errors(function: Callable) -> Callable:
    """Turn exceptions into one-line gr.Error messages (generators too); never a traceback in the page."""
    if inspect.isgeneratorfunction(function):
        @functools.wraps(function)
        def generator_wrapper(*args, **kwargs):
            try:
                yield from function(*args, **kwargs)
            except Exception as error:  # noqa: BLE001 - every error must reach the page as one line
                raise _translate(error) from None
        return generator_wrapper

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception as error:  # noqa: BLE001
            raise _translate(error) from None
    return wrapper


class RefusedNumber(str):
    """What a number box hands its handler when the page sent a bad value: the one line that says why.

    The box checks the value before the handler runs (`quiet_number_checks`); raising there would put an
    Error badge on every output of the event, so it passes this instead and the handler shows the line
    in its own message (`inline_errors`), leaving the other outputs as they were.
    """


def refused(value: Any) -> None:
    """Raise the box's own line when `value` is a number the page sent and the box refused."""
    if isinstance(value, RefusedNumber):
        raise ValidationError(str(value))


def parse_count(value: Any, what: str, low: int, high: int) -> int | None:
    """A whole number typed in the page, or None when empty; out of range or text -> ValidationError."""
    refused(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValidationError(f"{what} must be a whole number, got {str(value)[:40]!r}") from None
    if not math.isfinite(number):  # NaN and infinity are floats too, and int() of them fails without a word
        raise ValidationError(f"{what} must be a whole number from {low} to {high}, got {str(value)[:40]!r}")
    if number != int(number) or not low <= number <= high:
        raise ValidationError(f"{what} must be a whole number from {low} to {high}, got {value!r}")
    return int(number)


def parse_seed(value: Any, what: str = "seed") -> int | None:
    """A seed from the page: empty or -1 means "the recorded / default one" (a number box cannot be empty)."""
    refused(value)
    if value is not None and not (isinstance(value, str) and not value.strip()):
        try:
            if float(value) == -1:
                return None
        except (TypeError, ValueError):
            pass
    return parse_count(value, what, 0, MAX_SEED)


def progress_adapter(progress: Any) -> Callable[[float, str], None]:
    """The stages' progress callback (fraction, message) drawn by gr.Progress."""
    def update(fraction: float, message: str = "") -> None:
        progress(max(0.0, min(1.0, float(fraction))), desc=message or None)
    return update


def check_upload(path: Any, suffixes: tuple[str, ...], what: str) -> Path:
    if not path:
        raise ValidationError(f"no {what} was uploaded")
    path = Path(getattr(path, "name", path))
    if path.suffix.lower() not in suffixes:
        raise ValidationError(f"{what} {path.name!r} must be one of {', '.join(suffixes)}")
    size = path.stat().st_size
    if size == 0 or size > MAX_UPLOAD_BYTES:
        raise ValidationError(f"{what} {path.name!r} is {size} bytes; it must be between 1 byte and "
                              f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    return path


def _rows(value: Any) -> list[list]:
    """Table rows as lists, whatever form the Dataframe sent (pandas, dict, list)."""
    if value is None:
        return []
    if hasattr(value, "values") and hasattr(value, "columns"):  # pandas
        return [list(row) for row in value.values.tolist()]
    if isinstance(value, dict):
        return [list(row) for row in value.get("data", [])]
    # Empty rows are kept: the tables module skips them and its messages count rows as the page shows them.
    return [list(row) for row in value]


def _walk_values(data: Any):
    if isinstance(data, dict):
        for value in data.values():
            yield from _walk_values(value)
    elif isinstance(data, (list, tuple)):
        for value in data:
            yield from _walk_values(value)
    else:
        yield data


def number_problem(payload: Any, minimum: float | None, maximum: float | None, whole: bool = False) -> str | None:
    """What is wrong with a number the page (or an API client) sent, in words; None when it is fine.

    `whole`: the box holds whole numbers (precision 0), so 1.5 is refused rather than rounded to 2.
    """
    try:
        number = float(payload)
    except (TypeError, ValueError, OverflowError):
        return f"must be a number, got {str(payload)[:40]!r}"
    if isinstance(payload, bool) or not math.isfinite(number):
        return f"must be a number, got {str(payload)[:40]!r}"
    if whole and not number.is_integer():
        return f"must be a whole number, got {str(payload)[:40]}"
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        if minimum is not None and maximum is not None:
            allowed = f"from {minimum:g} to {maximum:g}"
        else:
            allowed = f"at least {minimum:g}" if minimum is not None else f"at most {maximum:g}"
        return f"must be {allowed}, got {number:g}"
    return None


def quiet_number_checks(blocks: dict) -> None:
    """Each Number and Slider of the app checks the value it is sent before gradio does.

    Gradio's own check raises a gr.Error that prints a full traceback for every request carrying an
    out-of-range number (and a text or NaN one fails deeper still), and rounds 1.5 to 2 in a whole-number
    box without a word; here it is one line in the log, and the handler gets a `RefusedNumber` naming the
    field, which it shows in its own message.
    """
    for component in blocks.values():
        if isinstance(component, (gr.Number, gr.Slider)):
            _check_before_gradio(component)


def _check_before_gradio(component) -> None:
    gradio_preprocess = component.preprocess
    label = component.label or "the number"

    def preprocess(payload):
        if payload is None:
            return gradio_preprocess(payload)
        problem = number_problem(payload, component.minimum, component.maximum,
                                 whole=getattr(component, "precision", None) == 0)
        if problem:
            logger.info("refused a value for %r: %s", label, problem)
            return RefusedNumber(f"{label} {problem}: change it and try again")
        return gradio_preprocess(payload if isinstance(payload, (int, float)) else float(payload))

    component.preprocess = preprocess  # this instance only: gradio calls block.preprocess on it
