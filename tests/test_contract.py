"""The API's rules, each written once: prompt, model, input-image count, prices and credit wording."""

from __future__ import annotations

import pytest

from lib.contract import (
    BACKGROUND_REMOVAL_CREDITS,
    MAX_PROMPT_CHARS,
    MODELS,
    credits_for,
    credits_text,
    input_count_problem,
    input_limit,
    model_problem,
    prompt_problem,
)


@pytest.mark.parametrize(
    ("prompt", "words"),
    [
        (None, "The prompt is missing. Write a prompt first."),
        (42, "The prompt must be text."),
        ("", "The prompt is empty. Write a prompt first."),
        ("  \n\t", "The prompt is empty. Write a prompt first."),
        ("x" * (MAX_PROMPT_CHARS + 1), "The prompt is 10,001 characters long; the limit is 10,000. "
                                       "Remove 1 character to continue."),
        ("x" * (MAX_PROMPT_CHARS + 25), "Remove 25 characters to continue."),
    ],
    ids=["missing", "not-text", "empty", "blank", "one-too-many", "25-too-many"],
)
def test_prompt_problem_says_what_is_wrong(prompt: object, words: str) -> None:
    """Each unusable prompt gets one plain sentence saying why and what to do."""
    problem = prompt_problem(prompt)
    assert problem is not None and words in problem


def test_prompt_problem_accepts_up_to_the_limit() -> None:
    """A one-word prompt and one of exactly the limit are fine."""
    assert prompt_problem("a fox") is None
    assert prompt_problem("x" * MAX_PROMPT_CHARS) is None


def test_model_problem_names_the_choices_and_shortens_odd_values() -> None:
    """Known models pass; an unknown one is named (shortened) with the models to choose from."""
    assert all(model_problem(model) is None for model in MODELS)
    assert model_problem("flux-3-ultra") == (
        "Unknown model 'flux-3-ultra'. Choose one of: flux-2-pro, flux-2-klein-9b."
    )
    long_problem = model_problem("m" * 5_000)
    assert long_problem is not None and len(long_problem) < 120
    assert model_problem(None) is not None and model_problem(7) is not None


def test_input_limits_and_count_problem() -> None:
    """8 inputs for pro, 4 for klein and when comparing; one more is refused with how many to remove."""
    assert (input_limit("flux-2-pro"), input_limit("flux-2-klein-9b")) == (8, 4)
    assert input_limit("flux-2-pro", compare=True) == 4
    assert input_count_problem("flux-2-pro", 8) is None
    assert input_count_problem("flux-2-klein-9b", 5) == (
        "flux-2-klein-9b takes at most 4 input images; 5 were given. Remove 1 and try again."
    )
    compared = input_count_problem("flux-2-pro", 6, compare=True)
    assert compared is not None and compared.startswith("Comparing models takes at most 4")
    assert "Remove 2" in compared


def test_what_a_click_costs() -> None:
    """4 credits for pro, 1 for klein, 5 to compare both, 2 when routed to background removal."""
    assert credits_for("flux-2-pro") == 4
    assert credits_for("flux-2-klein-9b") == 1
    assert credits_for("flux-2-pro", compare=True) == 5
    assert credits_for("flux-2-klein-9b", background_removal=True) == BACKGROUND_REMOVAL_CREDITS == 2
    assert credits_for("flux-2-pro", compare=True, background_removal=True) == 2


def test_credits_text_is_singular_for_one() -> None:
    """'1 credit', but '0 credits', '4 credits' and '1,200 credits'."""
    texts = [credits_text(n) for n in (1, 0, 4, 1200)]
    assert texts == ["1 credit", "0 credits", "4 credits", "1,200 credits"]
