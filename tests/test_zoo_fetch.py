"""Zoo weights fetched on first use from a card's URL (a server on 127.0.0.1), cached, then loaded offline.

The remote checkpoint is the real ``mfcc_cnn_union7`` (0.9 MB), served from a folder that holds only its card,
as in an installed package.
"""

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch
from local_servers import FileServer

import ser_zoo.data.download
import ser_zoo.weights
from ser_zoo.cli import main
from ser_zoo.errors import SerZooError
from ser_zoo.zoo import load_pretrained
from ser_zoo.zoo_paths import DEFAULT_MODEL, data_dir

CHECKOUT = data_dir("checkpoints")
NAME = "mfcc_cnn_union7"
WEIGHTS = (CHECKOUT / f"{NAME}.safetensors").read_bytes()
CARD = json.loads((CHECKOUT / f"{NAME}.json").read_text())


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SER_ZOO_HOME", str(tmp_path / "home"))
    for var in ("SER_ZOO_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(ser_zoo.data.download, "BACKOFF_S", 0)
    return tmp_path / "home" / "checkpoints"


@pytest.fixture
def remote(tmp_path, monkeypatch, home):
    """A server with the weights, and a zoo folder holding only the card, whose URL points at the server."""
    with FileServer({"/zoo/model.safetensors": WEIGHTS}) as server:
        cards = tmp_path / "cards"
        cards.mkdir()
        (cards / f"{NAME}.json").write_text(
            json.dumps({**CARD, "url": f"{server.url}/zoo/model.safetensors"})
        )
        monkeypatch.setattr(ser_zoo.weights, "ZOO_DIR", cards)
        yield server


def cached(home: Path) -> list[str]:
    return sorted(p.name for p in home.iterdir() if not p.name.endswith(".lock")) if home.is_dir() else []


def test_first_use_downloads_verifies_and_caches_then_loads_offline(remote, home, monkeypatch, capsys):
    main(["zoo", "list"])
    row = capsys.readouterr().out.splitlines()[1]
    assert row.split()[0] == NAME and row.endswith("download")  # listed from its card, not here yet
    assert ser_zoo.weights.list_pretrained() == [NAME]
    model = load_pretrained(NAME)
    assert cached(home) == [f"{NAME}-{CARD['sha256'][:12]}.safetensors"]
    assert [r[0] for r in remote.requests] == ["GET"]
    reference = load_pretrained(str(CHECKOUT / f"{NAME}.safetensors"))
    wave = torch.randn(2, 16000)
    torch.testing.assert_close(model(wave), reference(wave))
    monkeypatch.setenv("SER_ZOO_OFFLINE", "1")
    load_pretrained(NAME)
    assert len(remote.requests) == 1  # the second load read the cache
    main(["zoo", "list"])
    assert capsys.readouterr().out.splitlines()[1].endswith("cached")


def test_an_interrupted_download_resumes_where_it_stopped(remote, home, capsys):
    remote.cut_at = len(WEIGHTS) // 8  # every response hangs up after an eighth of the file
    with pytest.raises(SerZooError, match=r"after 4 attempts.*run the command again to resume from .*\.part"):
        load_pretrained(NAME)
    assert cached(home) == [f"{NAME}-{CARD['sha256'][:12]}.safetensors.part"]  # never a cached file
    part = home / cached(home)[0]
    assert part.stat().st_size == 4 * remote.cut_at
    remote.cut_at = None
    assert main(["zoo", "download", NAME]) == 0
    ranges = [r[2] for r in remote.requests]
    assert ranges == [None] + [f"bytes={k * (len(WEIGHTS) // 8)}-" for k in (1, 2, 3, 4)]
    assert cached(home) == [f"{NAME}-{CARD['sha256'][:12]}.safetensors"]
    assert (home / cached(home)[0]).read_bytes() == WEIGHTS
    assert "load offline from now on" in capsys.readouterr().out


@pytest.mark.parametrize("served", ["substituted", "truncated"])
def test_a_wrong_download_fails_naming_file_and_both_sha256_and_caches_nothing(remote, home, served):
    data = bytearray(WEIGHTS)
    if served == "substituted":
        data[-10] ^= 0xFF
    else:
        data = data[: len(data) // 2]  # complete as far as HTTP knows (Content-Length of the short file)
    remote.files["/zoo/model.safetensors"] = bytes(data)
    found = hashlib.sha256(bytes(data)).hexdigest()
    with pytest.raises(SerZooError) as e:
        load_pretrained(NAME)
    message = str(e.value)
    assert "\n" not in message and f"{NAME}-{CARD['sha256'][:12]}.safetensors" in message
    assert f"expected sha256:{CARD['sha256']}" in message and f"got sha256:{found}" in message
    assert cached(home) == []


def test_404_is_one_line_without_retries_and_offline_never_asks(remote, home, monkeypatch):
    del remote.files["/zoo/model.safetensors"]
    with pytest.raises(
        SerZooError, match=rf"zoo checkpoint '{NAME}': download failed: HTTP 404 .*/zoo/model"
    ):
        load_pretrained(NAME)
    assert len(remote.requests) == 1 and cached(home) == []
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SerZooError, match=rf"not cached .* `ser-zoo zoo download {NAME}`"):
        load_pretrained(NAME)
    assert len(remote.requests) == 1


def test_an_altered_cached_file_is_refused_then_fetched_again(remote, home):
    load_pretrained(NAME)
    cached_file = home / cached(home)[0]
    cached_file.write_bytes(WEIGHTS[:-1] + b"\0")
    with pytest.raises(SerZooError, match=rf"sha256 .* does not match .* `ser-zoo zoo download {NAME}`"):
        load_pretrained(NAME)
    assert main(["zoo", "download", "all"]) == 0
    assert cached_file.read_bytes() == WEIGHTS
    load_pretrained(NAME)


def test_a_source_checkout_loads_from_checkpoints_without_downloading(home):
    weights, card = ser_zoo.weights.resolve(NAME)
    assert weights == CHECKOUT / f"{NAME}.safetensors" and card["url"].startswith("https://huggingface.co/")
    assert card["sha256"] == CARD["sha256"] and not home.exists()
    assert DEFAULT_MODEL in ser_zoo.weights.list_pretrained()


def test_every_card_names_where_its_weights_live(tmp_path, home):
    for card in ser_zoo.weights.list_zoo():
        assert card["url"].endswith(f"/ser-zoo/{card['name']}/resolve/main/model.safetensors")
        assert card["hf_hub_id"] == f"ser-zoo/{card['name']}" and len(card["sha256"]) == 64
    shutil.copy(CHECKOUT / f"{NAME}.json", tmp_path / f"{NAME}.json")  # a card without its weights
    assert ser_zoo.weights.weights_status(CARD, tmp_path) == "download"
    assert ser_zoo.weights.weights_status(CARD) == "here"
