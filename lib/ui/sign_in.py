"""Team mode in the app: the signed-out screen, the refusal, who is signed in, and their budget.

With no `[auth]` section in secrets none of this shows: the app behaves as it always has.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.navigation.page import StreamlitPage

from lib.budget import BudgetLedger, PersonalBudget
from lib.budget_postgres import open_ledger
from lib.config import StorageConfigurationError, StorageSettings, resolve_storage
from lib.contract import credits_text
from lib.errors import ImageStudioError
from lib.team import Member, TeamSettings, person_from_claims, read_team_settings, refusal_reason

APP_NAME = "Image Studio"
WELCOME = "Sign in with your team account to make and edit images with the team's credits."
USAGE_PAGE = "app_pages/usage.py"
ADMINS_ONLY = "The Usage page is only for the team's admins."
MISSING_IDENTITY = "Your sign-in did not say who you are (no subject), so the app can't keep your history."


def team_settings() -> TeamSettings:
    """Team mode's settings from this app's secrets (sign-in off when there is no `[auth]`)."""
    return read_team_settings(st.secrets)


def _claims() -> dict[str, object]:
    return dict(st.user.to_dict())


def current_member() -> Member | None:
    """The signed-in person, when sign-in is on and they are let in; None otherwise."""
    settings = team_settings()
    if not settings.sign_in or settings.problem or not _claims().get("is_logged_in"):
        return None
    person = person_from_claims(_claims())
    if person is None or refusal_reason(person, settings):
        return None
    return Member(person, settings)


def navigation(pages: Sequence[StreamlitPage]) -> StreamlitPage:
    """st.navigation for this visitor: the app (plus Usage in team mode) once let in.

    Anyone not let in sees only the sign-in screen (or the refusal) on every address, deep links included,
    and the script stops there: no sidebar, no workspace, no image.
    """
    settings = team_settings()
    if not settings.sign_in:
        return st.navigation(list(pages))
    if settings.problem:
        screen = _screen(lambda: st.error(f"{settings.problem} Ask the person who runs this app to fix "
                                          "its secrets.", icon=":material/error:"))
    elif not _claims().get("is_logged_in"):
        screen = _screen(lambda: _sign_in_buttons(settings))
    else:
        person = person_from_claims(_claims())
        reason = MISSING_IDENTITY if person is None else refusal_reason(person, settings)
        if person is not None and reason is None:
            member = Member(person, settings)
            usage = st.Page(USAGE_PAGE, title="Usage", icon=":material/bar_chart:",
                            visibility="visible" if member.is_admin else "hidden")
            return st.navigation([*pages, usage])
        screen = _screen(lambda: _refusal(reason or MISSING_IDENTITY))
    # The same screen answers on every page's address, so a deep link lands here and not on "not found".
    # (Streamlit gives the default page an empty url_path: that is how it is told apart.)
    stand_ins = [st.Page(screen, title=page.title, url_path=page.url_path or None, default=not page.url_path)
                 for page in pages]
    st.navigation(stand_ins, position="hidden").run()
    st.stop()
    raise AssertionError("st.stop() ends the run")  # for type checkers: navigation never returns here


def require_admin() -> Member:
    """The signed-in admin; anyone else reads a refusal and the page stops."""
    member = current_member()
    if member is None or not member.is_admin:
        st.error(ADMINS_ONLY, icon=":material/lock:")
        st.stop()
    assert member is not None  # st.stop() ended the run otherwise
    return member


@st.cache_resource(show_spinner=False)
def _open_budget(storage: StorageSettings, daily_limit: int) -> BudgetLedger:
    """One budget ledger per storage and limit, shared by all sessions (it is safe across threads)."""
    return open_ledger(storage, daily_limit)


def team_ledger() -> BudgetLedger:
    """The team's budget ledger: in PostgreSQL in shared mode (one for all replicas), else the data folder."""
    try:
        return _open_budget(resolve_storage(st.secrets, os.environ), team_settings().daily_credit_budget)
    except (StorageConfigurationError, ImageStudioError) as problem:  # both say what to do, never a secret
        st.error(str(problem), icon=":material/cloud_off:")
        st.stop()


def personal_budget(uses_own_key: bool) -> PersonalBudget | None:
    """The signed-in person's budget on the team's key; None without sign-in or with their own key."""
    member = current_member()
    if member is None or uses_own_key:
        return None
    return PersonalBudget(team_ledger(), member.person.key, member.person.email or member.person.display_name)


def render_member(area: DeltaGenerator, *, uses_own_key: bool) -> None:
    """Who is signed in, today's spend against their budget, and Sign out (nothing without sign-in)."""
    member = current_member()
    if member is None:
        return
    with area:
        person = member.person
        # st.text: a name or e-mail from the identity provider is shown as it is, never read as Markdown.
        st.text(f"Signed in as {person.display_name}")
        if person.email and person.email != person.display_name:
            st.text(person.email)
        if uses_own_key:
            st.caption("You are using your own API key: the team budget does not apply.")
        else:
            spent = team_ledger().spent(person.key)
            limit = member.settings.daily_credit_budget
            st.caption(f"today: {spent:,} of {credits_text(limit)}" if limit
                       else f"today: {credits_text(spent)}")
        if st.button("Sign out", key="sign_in_sign_out", icon=":material/logout:"):
            st.logout()


def _screen(body: Callable[[], object]) -> Callable[[], None]:
    def sign_in_screen() -> None:
        st.title(APP_NAME)
        body()

    return sign_in_screen


def _sign_in_buttons(settings: TeamSettings) -> None:
    st.write(WELCOME)
    for provider in settings.providers:
        label = "Sign in" if provider is None or len(settings.providers) == 1 else f"Sign in with {provider}"
        if st.button(label, key=f"sign_in_{provider or 'default'}", type="primary", icon=":material/login:"):
            if provider is None:
                st.login()
            else:
                st.login(provider)


def _refusal(reason: str) -> None:
    st.error(reason, icon=":material/block:")
    # Without this, someone signed in with the wrong account would be stuck until the cookie expires.
    if st.button("Sign out", key="sign_in_sign_out"):
        st.logout()

