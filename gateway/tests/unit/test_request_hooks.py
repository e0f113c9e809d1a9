"""What every proxied request runs: no hook of the login rate limiter."""

from flask_limiter import Limiter

from gateway.app import create_app
from shared.config import Settings


def limiter_hooks(funcs) -> list:
    return [
        hook
        for hook in funcs
        if isinstance(getattr(hook, "__self__", None), Limiter)
        or any(isinstance(arg, Limiter) for arg in getattr(hook, "args", ()))
    ]


def test_only_the_auth_endpoints_run_the_rate_limiters_hooks(tmp_path):
    settings = Settings(service="gateway", env="test", database_url=f"sqlite:///{tmp_path}/g.db")
    app = create_app(settings, urls={})
    hooks = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
    assert all(limiter_hooks(funcs.get(None, ())) == [] for funcs in hooks)
    assert all(len(limiter_hooks(funcs["auth"])) == 1 for funcs in hooks)
