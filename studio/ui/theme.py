"""The look: a Gradio theme, the stylesheet in assets/studio.css and the example prompts."""

from pathlib import Path

import gradio as gr

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"
SYSTEM_FONTS = ["Inter", "ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"]
MONO_FONTS = ["JetBrains Mono", "ui-monospace", "SFMono-Regular", "Menlo", "monospace"]


def studio_theme() -> gr.themes.Base:
    # System fonts only: the studio must look right offline (no font downloads).
    return gr.themes.Soft(primary_hue="indigo", secondary_hue="slate", neutral_hue="slate",
                          radius_size="md", font=SYSTEM_FONTS, font_mono=MONO_FONTS).set(
        body_background_fill="*neutral_50",
        block_border_width="1px",
        block_shadow="0 1px 2px rgba(15, 23, 42, 0.06)",
        button_primary_background_fill="*primary_600",
        button_primary_background_fill_hover="*primary_700",
    )


def load_css() -> str:
    path = ASSETS_DIR / "studio.css"
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def load_examples() -> list[str]:
    """Example prompts, one per line of assets/examples.txt (lines starting with # are comments)."""
    path = ASSETS_DIR / "examples.txt"
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]
