"""``ser-zoo zoo push``: publish a zoo checkpoint on the Hugging Face Hub, loadable as ``hf-hub:ORG/NAME``.

One commit holds ``model.safetensors`` (the weights, checked against the card first), ``card.json`` (the card,
its ``url`` and ``hf_hub_id`` pointing at the new repository) and ``README.md`` (the model card, with the
licence and training data in its metadata and text). Through ``huggingface_hub`` (the ``hub`` extra), so its
login, ``HF_TOKEN`` and ``HF_ENDPOINT`` apply.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from ..errors import SerZooError
from ..hub import hub_endpoint
from ..models.speaker_normalized import is_speaker_normalized
from ..optional import import_optional
from ..weights import resolve, sha256_file
from ..zoo_paths import HUB_CARD, HUB_WEIGHTS
from .checkpoints import model_card_markdown

#: README metadata: the weights inherit the corpora's non-commercial research licences (the card's licence)
README_METADATA = """---
license: other
license_name: non-commercial-research
library_name: ser-zoo
pipeline_tag: audio-classification
tags:
- speech-emotion-recognition
- ser-zoo
---
"""


def hub_card(card: dict[str, Any], repo_id: str, endpoint: Optional[str] = None) -> dict[str, Any]:
    """The card as published in ``repo_id``: its weights' URL and Hub id are that repository's."""
    base = (endpoint or "https://huggingface.co").rstrip("/")
    return {**card, "url": f"{base}/{repo_id}/resolve/main/{HUB_WEIGHTS}", "hf_hub_id": repo_id}


def hub_readme(card: dict[str, Any], repo_id: str) -> str:
    """The repository's README: Hub metadata, then the model card with an ``hf-hub:`` usage example."""
    files = "one_speaker_folder/" if is_speaker_normalized(card) else "clip.wav"
    usage = (
        f"\n## Use with ser-zoo installed\n\n```bash\nser-zoo infer {files} --model hf-hub:{repo_id}\n```\n"
    )
    return README_METADATA + model_card_markdown(card, load_name=f"hf-hub:{repo_id}") + usage


def push_checkpoint(
    name_or_path: str,
    repo_id: str,
    private: bool = False,
    token: Optional[str] = None,
    revision: Optional[str] = None,
    endpoint: Optional[str] = None,
) -> str:
    """Upload a zoo checkpoint (a zoo name or a ``.safetensors`` path with its card) to ``repo_id``, creating
    the repository when it does not exist; returns the commit's URL."""
    hf = import_optional("huggingface_hub", extra="hub", feature="ser-zoo zoo push")
    weights, card = resolve(name_or_path)
    digest = sha256_file(weights)
    if digest != card["sha256"]:
        raise SerZooError(f"{weights}: sha256 {digest} is not its card's {card['sha256']}; not pushing it")
    endpoint = endpoint or hub_endpoint()
    published = hub_card(card, repo_id, endpoint)
    api = hf.HfApi(endpoint=endpoint, token=token, library_name="ser-zoo")
    operations = [
        hf.CommitOperationAdd(path_in_repo=HUB_WEIGHTS, path_or_fileobj=str(weights)),
        hf.CommitOperationAdd(
            path_in_repo=HUB_CARD, path_or_fileobj=(json.dumps(published, indent=1) + "\n").encode()
        ),
        hf.CommitOperationAdd(
            path_in_repo="README.md", path_or_fileobj=hub_readme(published, repo_id).encode()
        ),
    ]
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        info = api.create_commit(
            repo_id,
            operations,
            commit_message=f"ser-zoo checkpoint {card['name']} (sha256 {digest[:12]})",
            revision=revision,
        )
    except (hf.errors.HfHubHTTPError, OSError, ValueError) as e:
        raise SerZooError(f"pushing {card['name']} to {repo_id} failed: {str(e).splitlines()[0]}") from None
    return info.commit_url
