"""Settings of one Local Studio server: who may call it, what things cost, how much it keeps."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

from lib.contract import MODEL_CREDITS, MODELS

# The key the app uses when nobody configured one. It only ever opens a server on the user's own machine.
DEMO_API_KEY = "sk_local_demo"

# Credits per generated or edited image, by model: the API's own prices unless a server is told otherwise.
DEFAULT_MODEL_PRICES: Mapping[str, int] = MODEL_CREDITS


@dataclass(frozen=True)
class StudioConfig:
    """Keys, JWT secret, credits and prices, public address, and the limits that keep one server healthy."""

    api_keys: tuple[str, ...] = field(default=(DEMO_API_KEY,), repr=False)
    jwt_secret: str | None = field(default=None, repr=False)
    starting_credits: int = 1000
    model_prices: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_MODEL_PRICES))
    max_stored_bytes: int = 512 * 1024 * 1024
    # Where result URLs point ("http://host:port"); None: the address the server is bound to, filled in at
    # start. Never taken from a request's Host header, which the caller chooses.
    public_base_url: str | None = None
    # Input-image URLs may only reach public addresses, plus these networks (CIDR) opted in, for tests.
    private_image_networks: tuple[str, ...] = ()
    image_fetch_deadline_s: float = 20.0
    # Engine work at once: each job can hold a few hundred MB of pixels, and this machine has few cores.
    max_concurrent_jobs: int = 2
    # How long a job waits for a free engine before the answer is 503 with Retry-After.
    job_wait_s: float = 30.0
    # Idempotency-Key answers kept per account, by count and by age: no account can crowd out another.
    idempotency_keys_per_account: int = 1000
    idempotency_max_age_s: float = 24 * 3600

    def __post_init__(self) -> None:
        # Frozen: normalise through object.__setattr__ so lists given by callers become tuples.
        object.__setattr__(self, "api_keys", tuple(self.api_keys))
        object.__setattr__(self, "model_prices", dict(self.model_prices))
        object.__setattr__(self, "private_image_networks", tuple(self.private_image_networks))
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
        if self.public_base_url is not None:
            if not self.public_base_url.startswith(("http://", "https://")):
                raise ValueError("The public base URL must start with http:// or https://.")
            object.__setattr__(self, "public_base_url", self.public_base_url.rstrip("/"))
        for network in self.private_image_networks:
            try:
                ipaddress.ip_network(network)
            except ValueError as exc:
                raise ValueError(f"{network!r} is not a network such as 127.0.0.0/8 or ::1/128.") from exc
        positive = {
            "image_fetch_deadline_s": self.image_fetch_deadline_s,
            "max_concurrent_jobs": self.max_concurrent_jobs,
            "idempotency_keys_per_account": self.idempotency_keys_per_account,
            "idempotency_max_age_s": self.idempotency_max_age_s,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"{name} must be positive.")
        if self.job_wait_s < 0:
            raise ValueError("job_wait_s can't be negative.")
