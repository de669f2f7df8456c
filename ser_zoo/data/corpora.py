"""Readers that parse each corpus's official layout and file names into one clip table.

Every reader returns :class:`Clip` rows with canonical emotion names, a corpus-prefixed
speaker id and the speaker's gender, so protocols and class sets work across corpora.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path
from typing import Callable, Iterable

from ..errors import ConfigError, SerZooError
from .labels import EMOTIONS

#: Extensions soundfile decodes that the corpora ship in (official WAV or re-encoded copies).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus")


@dataclasses.dataclass(frozen=True)
class Clip:
    """One utterance: where it is and what the corpus says about it."""

    path: str
    corpus: str
    speaker: str
    gender: str
    emotion: str
    intensity: str = ""  # RAVDESS normal/strong, CREMA-D level (LO MD HI XX, one 'X')
    text: str = ""  # RAVDESS statement, CREMA-D sentence, TESS word, SAVEE sentence code; your own: the label
    key: str = ""  # your own corpus: the file's path inside its folder or beside its manifest
    split: str = ""  # your own corpus: the manifest's split column (train, val, test), for given-split

    @property
    def id(self) -> str:
        """Unique within its corpus (SAVEE reuses file names across speakers); your own corpus's clips are
        named by their path inside the corpus, so a moved or renamed folder keeps the names."""
        return self.key or f"{self.speaker}/{Path(self.path).stem}"


def _audio_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise SerZooError(
            f"corpus folder not found: {folder}; point --root at the data root or run 'ser-zoo data download'"
        )
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())


# --- RAVDESS: modality-channel-emotion-intensity-statement-repetition-actor -------------------
def read_ravdess(root: Path) -> list[Clip]:
    clips = []
    for path in _audio_files(root / "ravdess"):
        parts = path.stem.split("-")
        if len(parts) != 7 or not all(p.isdigit() for p in parts):
            continue
        modality, channel, emotion, intensity, statement, _repetition, actor = parts
        if modality != "03" or channel != "01":  # audio-only speech; song and video files are not this corpus
            continue
        clips.append(
            Clip(
                path=str(path),
                corpus="ravdess",
                speaker=f"ravdess_{actor}",
                gender="male" if int(actor) % 2 else "female",
                emotion=EMOTIONS[int(emotion) - 1],
                intensity={"01": "normal", "02": "strong"}[intensity],
                text=statement,
            )
        )
    return clips


# --- CREMA-D: actor_sentence_emotion_level, sex from VideoDemographics.csv ---------------------
CREMA_D_EMOTIONS = {
    "ANG": "angry",
    "DIS": "disgust",
    "FEA": "fearful",
    "HAP": "happy",
    "NEU": "neutral",
    "SAD": "sad",
}


def _crema_d_sexes(folder: Path) -> dict[str, str]:
    table = folder / "VideoDemographics.csv"
    if not table.is_file():
        raise SerZooError(
            f"{table} is missing; CREMA-D speaker genders come from it (it ships with the corpus)"
        )
    with table.open(newline="") as f:
        return {row["ActorID"].strip(): row["Sex"].strip().lower() for row in csv.DictReader(f)}


def read_crema_d(root: Path) -> list[Clip]:
    folder = root / "crema_d"
    sexes = _crema_d_sexes(folder)
    clips = []
    for path in _audio_files(folder / "AudioWAV"):
        parts = path.stem.split("_")
        if len(parts) != 4 or parts[2] not in CREMA_D_EMOTIONS:
            continue
        actor, sentence, emotion, level = parts
        clips.append(
            Clip(
                path=str(path),
                corpus="crema_d",
                speaker=f"crema_d_{actor}",
                gender=sexes.get(actor, "unknown"),
                emotion=CREMA_D_EMOTIONS[emotion],
                intensity=level,
                text=sentence,
            )
        )
    return clips


# --- TESS: <SPK>_<emotion>/<SPK>_<word>_<emotion>; the folder names the speaker ----------------
TESS_EMOTIONS = {
    "angry": "angry",
    "disgust": "disgust",
    "fear": "fearful",
    "happy": "happy",
    "neutral": "neutral",
    "ps": "surprised",
    "sad": "sad",
}


def read_tess(root: Path) -> list[Clip]:
    clips = []
    for path in _audio_files(root / "tess"):
        parts = path.stem.split("_")
        if len(parts) < 3 or parts[-1].lower() not in TESS_EMOTIONS:
            continue
        # 'OA_bite_neutral' sits in OAF_neutral: trust the folder, not the file prefix.
        speaker = path.parent.name.split("_")[0].upper()
        if speaker not in ("OAF", "YAF"):
            speaker = parts[0].upper()
        clips.append(
            Clip(
                path=str(path),
                corpus="tess",
                speaker=f"tess_{speaker}",
                gender="female",
                emotion=TESS_EMOTIONS[parts[-1].lower()],
                text="_".join(parts[1:-1]),
            )
        )
    return clips


# --- SAVEE: AudioData/<SPK>/<code><nn> -------------------------------------------------------
SAVEE_EMOTIONS = {
    "a": "angry",
    "d": "disgust",
    "f": "fearful",
    "h": "happy",
    "n": "neutral",
    "sa": "sad",
    "su": "surprised",
}


def read_savee(root: Path) -> list[Clip]:
    clips = []
    for path in _audio_files(root / "savee" / "AudioData"):
        code = path.stem.rstrip("0123456789")
        if code not in SAVEE_EMOTIONS or code == path.stem:
            continue
        clips.append(
            Clip(
                path=str(path),
                corpus="savee",
                speaker=f"savee_{path.parent.name}",
                gender="male",
                emotion=SAVEE_EMOTIONS[code],
                text=path.stem,
            )
        )
    return clips


READERS: dict[str, Callable[[Path], list[Clip]]] = {
    "ravdess": read_ravdess,
    "crema_d": read_crema_d,
    "tess": read_tess,
    "savee": read_savee,
}

#: Official clip counts, for the summary and the reader tests.
OFFICIAL_COUNTS = {"ravdess": 1440, "crema_d": 7442, "tess": 2800, "savee": 480}


def read_corpus(name: str, root: str | Path) -> list[Clip]:
    """All clips of one corpus under ``root`` (the folder holding ravdess/, crema_d/, ...)."""
    if name not in READERS:
        raise ConfigError(f"unknown corpus '{name}'; use one of {sorted(READERS)}")
    return READERS[name](Path(root).expanduser())


def read_corpora(names: Iterable[str], root: str | Path) -> list[Clip]:
    return [clip for name in names for clip in read_corpus(name, root)]


def filter_classes(clips: Iterable[Clip], classes: tuple[str, ...]) -> list[Clip]:
    """Keep the clips whose emotion is in the class set (e.g. drop calm/surprised for emotions6)."""
    keep = set(classes)
    return [c for c in clips if c.emotion in keep]
