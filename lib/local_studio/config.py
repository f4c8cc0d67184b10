"""Settings of one Local Studio server: who may call it, what things cost, how much it keeps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lib.contract import MODELS

# The key the app uses when nobody configured one. It only ever opens a server on the user's own machine.
DEMO_API_KEY = "sk_local_demo"

# Credits per generated or edited image, by model: the fast model is the cheap one, as on the real API.
DEFAULT_MODEL_PRICES: Mapping[str, int] = {"flux-2-pro": 4, "flux-2-klein-9b": 1}


@dataclass(frozen=True)
class StudioConfig:
    """Keys, JWT secret, starting credits, prices and result-store size of a Local Studio."""

    api_keys: tuple[str, ...] = field(default=(DEMO_API_KEY,), repr=False)
    jwt_secret: str | None = field(default=None, repr=False)
    starting_credits: int = 1000
    model_prices: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_MODEL_PRICES))
    max_stored_bytes: int = 512 * 1024 * 1024

    def __post_init__(self) -> None:
        # Frozen: normalise through object.__setattr__ so lists given by callers become tuples.
        object.__setattr__(self, "api_keys", tuple(self.api_keys))
        object.__setattr__(self, "model_prices", dict(self.model_prices))
        if not self.api_keys:
            raise ValueError("A Local Studio needs at least one API key.")
        for key in self.api_keys:
            if not isinstance(key, str) or not key.startswith("sk_") or len(key) < 6 or key.strip() != key:
                raise ValueError("API keys must start with sk_ and be at least 6 characters, without spaces.")
        if self.jwt_secret is not None and not self.jwt_secret:
            raise ValueError("The JWT secret must not be empty (use None to turn JWTs off).")
        if self.starting_credits < 0:
            raise ValueError("Starting credits can't be negative.")
        missing = sorted(set(MODELS) - set(self.model_prices))
        if missing:
            raise ValueError(f"No price for model(s): {', '.join(missing)}.")
        if any(not isinstance(price, int) or price < 0 for price in self.model_prices.values()):
            raise ValueError("Model prices must be whole numbers of credits, 0 or more.")
        if self.max_stored_bytes <= 0:
            raise ValueError("max_stored_bytes must be positive.")
