"""Who a request comes from: a signed-in Hugging Face account, else its browser, else its gradio session.

The account comes from gradio's OAuth cookie session (set by "Sign in with Hugging Face" on a Space
with `hf_oauth: true`); the page cannot forge it. The browser comes from the key the page keeps in
gr.BrowserState and hands over when it loads (`Handlers.identify` binds it to the session). A client
with neither (an API client) is its own gradio session. See studio/ui/state.py for where each one's
projects live.

Written against gradio 6.31: the OAuth info is read the way gradio injects `gr.OAuthProfile`
(gradio.helpers._session_from_request and gradio.oauth._get_valid_oauth_info_from_session), so that
every handler, the API endpoints included, knows the account without a parameter of its own.
"""

import os

from studio.ui.state import Visitor

BROWSER_STORAGE_KEY = "streamstudio-visitor"  # the page's localStorage entry (fixed: it must outlive a restart)


def oauth_enabled() -> bool:
    """Whether this is a Space with Hugging Face sign-in (`hf_oauth: true` sets OAUTH_CLIENT_ID and the rest).

    Off a Space gradio would mock the sign-in with the machine's own HF login (and refuse to start without
    one), so the button is offered only where gradio itself sees a Space (SYSTEM=spaces, SPACE_ID)."""
    from gradio.utils import get_space

    return bool(get_space() and os.environ.get("OAUTH_CLIENT_ID"))


def oauth_userinfo(request) -> dict | None:
    """The signed-in account's OpenID user info for this request (None when signed out or without OAuth)."""
    from gradio import helpers, oauth

    try:
        info = oauth._get_valid_oauth_info_from_session(helpers._session_from_request(request))
    except Exception:  # no session middleware, or a cookie of another format: signed out
        return None
    userinfo = (info or {}).get("userinfo")
    return userinfo if isinstance(userinfo, dict) else None


def account_id(request) -> str | None:
    """The stable id of the signed-in account ("sub"; its user name only where the provider gives no id)."""
    userinfo = oauth_userinfo(request)
    if not userinfo:
        return None
    ident = userinfo.get("sub") or userinfo.get("preferred_username")
    return str(ident) if ident else None


def visitor_of(request) -> Visitor | str | None:
    """What the workspace should look up for this request: the account, else the session id (which the
    workspace maps to the browser its page named, if any)."""
    account = account_id(request) if request is not None else None
    if account:
        return Visitor("user", account)
    return getattr(request, "session_hash", None)


def browser_secret(projects_root) -> str:
    """The key gradio encrypts the browser's localStorage entry with, kept under the projects root so that
    a restarted server still reads what its pages stored (the page holds it too: it only hides the entry
    from a casual look, the key itself is what must stay unguessable)."""
    import secrets
    from pathlib import Path

    from studio.project.paths import atomic_write_text

    path = Path(projects_root) / ".browser-state-secret"
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError:
        secret = ""
    if len(secret) < 32:
        secret = secrets.token_urlsafe(32)
        atomic_write_text(path, secret + "\n")
    return secret


def identify(workspace, stored_key, request, session=None):
    """The page's load event: bind this session to the browser key its page kept (a new key on a first
    visit, or when what the page sent is not one); returns the key for the page to keep."""
    import secrets

    from studio.ui.state import is_browser_key

    key = stored_key if is_browser_key(stored_key) else secrets.token_urlsafe(32)
    workspace.bind(request.session_hash, key)
    if session is not None:
        session.session_hash = request.session_hash
        if not account_id(request):  # an account's key wins: it follows the person across browsers
            session.owner_key = key
    return key


def build(ui, workspace) -> None:
    """The browser key: invisible, kept by the page across reloads and restarts."""
    import gradio as gr

    ui.browser_key = gr.BrowserState(None, storage_key=BROWSER_STORAGE_KEY, secret=browser_secret(workspace.root))


def login_button():
    """On a Space with sign-in, "Sign in with Hugging Face" where it is built (gradio wires it as it renders)."""
    import gradio as gr

    return gr.LoginButton("Sign in with Hugging Face", elem_id="login-btn", scale=1) if oauth_enabled() else None


def wire(ui, workspace) -> None:
    """Run `identify` when the page loads, before anything else reaches for the visitor's projects."""

    import gradio as gr

    def on_load(stored_key, session, request: gr.Request):
        return identify(workspace, stored_key, request, session)

    ui.demo_load(on_load, inputs=[ui.browser_key, ui.session], outputs=[ui.browser_key], api_visibility="private",
                 show_progress="hidden", queue=False)
