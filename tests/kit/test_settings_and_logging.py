import json
import logging

import pytest
import structlog
from pydantic import ValidationError

from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.logging import configure_logging, redact
from fieldbridge.settings import Environment, Settings


def test_secret_key_required_outside_dev_with_a_how_to() -> None:
    with pytest.raises(ValidationError) as info:
        Settings(env=Environment.production, secret_key=None)
    assert "head -c 36 /dev/urandom | base64" in str(info.value)
    with pytest.raises(ValidationError):
        Settings(env=Environment.production, secret_key="short")
    assert Settings(env=Environment.production, secret_key="k" * 40).secret == "k" * 40
    assert Settings(env=Environment.demo).secret


def test_redact_hides_secret_keys_and_bearer_tokens() -> None:
    event = {
        "password": "hunter2hunter2",
        "headers": {"Authorization": "Bearer abc.def", "X-Other": "fine"},
        "note": "sent fbk_SECRETVALUE123 to the server",
        "nested": [{"refresh_token": "r1"}],
    }
    out = redact(event)
    text = json.dumps(out)
    for secret in ("hunter2hunter2", "abc.def", "SECRETVALUE123", "r1"):
        assert secret not in text
    assert out["headers"]["X-Other"] == "fine"


def test_json_logs_never_carry_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True, level=logging.INFO)
    structlog.get_logger("t").info("signin", pin="1234", access_token="tok-xyz", worker="Ann")
    line = capsys.readouterr().out.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["worker"] == "Ann"
    assert "1234" not in line
    assert "tok-xyz" not in line


def test_secret_box_round_trip_and_wrong_key() -> None:
    box = SecretBox("a" * 40)
    sealed = box.seal("refresh-token-value")
    assert "refresh-token-value" not in sealed
    assert box.open(sealed) == "refresh-token-value"
    with pytest.raises(ValueError, match="SECRET_KEY changed"):
        SecretBox("b" * 40).open(sealed)
