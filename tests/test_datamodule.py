"""The data module: cached waveforms, crop policy per stage, padding, bad clips skipped and reported."""

import numpy as np
import pytest
import soundfile as sf
import torch

from ser_zoo.data import SERDataModule
from ser_zoo.data.cache import WaveformCache
from ser_zoo.data.corpora import Clip


def test_ravdess_fold_batches(data_root):
    dm = SERDataModule(
        root=str(data_root), protocol="ravdess-6fold", fold=1, batch_size=8, num_workers=0, clip_seconds=2.0
    )
    dm.prepare_data()
    dm.setup("fit")
    assert dm.num_classes == 8 and dm.class_names[0] == "neutral"
    assert [len(dm.datasets[s]) for s in ("train", "val", "test")] == [960, 240, 240]
    assert {c.speaker for c in dm.stage_clips("test")} == {
        "ravdess_05",
        "ravdess_06",
        "ravdess_07",
        "ravdess_08",
    }
    batch = next(iter(dm.train_dataloader()))
    assert batch["audio"].shape == (8, 32000) and batch["audio"].dtype == torch.float32
    assert (batch["lengths"] <= 32000).all() and batch["label"].max() < 8
    assert batch["audio"].abs().max() <= 1.0
    # evaluation is deterministic (centre crop); training crops are random
    a = next(iter(dm.val_dataloader()))["audio"]
    b = next(iter(dm.val_dataloader()))["audio"]
    assert torch.equal(a, b)
    ds = dm.datasets["train"]
    long_clip = max(
        range(len(ds)), key=lambda i: dm.datasets["train"].cache["ravdess"].length(ds.clips[i].id)
    )
    crops = {ds[long_clip].wave[:200].sum().item() for _ in range(5)}
    assert len(crops) > 1


def test_items_and_batches_are_named(data_root):
    """Items are ``ClipItem``s; ``pad_collate`` gives every ``ClipBatch`` key, in item order."""
    from ser_zoo.data.clips import ClipBatch, ClipItem, pad_collate

    dm = SERDataModule(root=str(data_root), limit_clips=3, batch_size=3, num_workers=0, clip_seconds=1.0)
    dm.setup("test")
    ds = dm.datasets["test"]
    items = [ds[i] for i in range(3)]
    assert all(isinstance(item, ClipItem) for item in items)
    assert [item.index for item in items] == [0, 1, 2] and all(len(item.wave) == 16000 for item in items)
    batch = pad_collate(items, min_length=20000)
    assert set(batch) == set(ClipBatch.__annotations__)
    assert batch["audio"].shape == (3, 20000) and batch["lengths"].tolist() == [16000] * 3
    assert batch["clip"] == [item.clip_key for item in items]
    assert batch["label"].tolist() == [item.label for item in items]
    assert batch["gender"].tolist() == [item.gender for item in items]
    assert batch["start"].tolist() == [item.start for item in items]


def test_full_eval_crop_keeps_whole_clips(data_root):
    dm = SERDataModule(
        root=str(data_root),
        protocol="savee-loso",
        fold=0,
        batch_size=4,
        num_workers=0,
        eval_crop="full",
        clip_seconds=1.0,
    )
    dm.setup("test")
    batch = next(iter(dm.test_dataloader()))
    lengths = batch["lengths"]
    assert batch["audio"].shape[1] == lengths.max() > 16000  # SAVEE clips are longer than 1 s
    for row, n in enumerate(lengths):
        assert batch["audio"][row, n:].abs().sum() == 0  # padding is zeros past each clip's length


def _clip(path, speaker="x_1", emotion="happy"):
    return Clip(path=str(path), corpus="x", speaker=speaker, gender="male", emotion=emotion)


def test_cache_skips_bad_clips_and_keeps_the_rest(tmp_path, capsys):
    good = tmp_path / "good.wav"
    sf.write(good, 0.1 * np.sin(np.arange(8000) / 5).astype(np.float32), 16000)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(8000, np.float32), 16000)
    junk = tmp_path / "junk.wav"
    junk.write_text("not audio")
    cache = WaveformCache(
        [_clip(good), _clip(silent), _clip(junk)], tmp_path / "cache", name="x", progress=False
    )
    assert len(cache) == 1 and "x_1/good" in cache
    assert set(cache.skipped) == {"x_1/silent", "x_1/junk"}
    assert (
        "silent" in cache.skipped["x_1/silent"] and "not a readable audio file" in cache.skipped["x_1/junk"]
    )
    assert "2 of 3 clips skipped" in capsys.readouterr().out
    np.testing.assert_allclose(cache.get("x_1/good") / 32767, sf.read(good)[0], atol=1e-4)


def test_cache_is_rebuilt_when_truncated_or_stale(tmp_path):
    wav = tmp_path / "a.wav"
    sf.write(wav, 0.1 * np.sin(np.arange(8000) / 5).astype(np.float32), 16000)
    first = WaveformCache([_clip(wav)], tmp_path / "cache", name="x", progress=False)
    # truncate the cached array: the next open notices and rebuilds
    data = first.dir / "waves.npy"
    data.write_bytes(data.read_bytes()[:-2000])
    again = WaveformCache([_clip(wav)], tmp_path / "cache", name="x", progress=False)
    assert again.length("x_1/a") == 8000
    # a changed file means a new key (stale caches are never reused)
    sf.write(wav, 0.1 * np.sin(np.arange(12000) / 5).astype(np.float32), 16000)
    changed = WaveformCache([_clip(wav)], tmp_path / "cache", name="x", progress=False)
    assert changed.dir != first.dir and changed.length("x_1/a") == 12000


def test_clip_keys_name_the_audio_not_the_files_or_the_clip_list(tmp_path):
    """A corpus re-mounted or copied (new mtimes), or another protocol's clip list over it, builds another
    cache whose clips keep their keys, so the feature caches keyed by them (hours of CREPE on a CPU) are found
    again; other audio gets another key."""
    import json
    import os

    wav, other = tmp_path / "a.wav", tmp_path / "b.wav"
    sf.write(wav, 0.1 * np.sin(np.arange(8000) / 5).astype(np.float32), 16000)
    sf.write(other, 0.1 * np.sin(np.arange(6000) / 3).astype(np.float32), 16000)
    first = WaveformCache([_clip(wav)], tmp_path / "cache", name="x", progress=False)
    key = first.clip_key("x_1/a")
    assert key.startswith("x-16000/x_1/a@")
    both = WaveformCache([_clip(other), _clip(wav)], tmp_path / "cache", name="x", progress=False)
    assert both.dir != first.dir and both.clip_key("x_1/a") == key  # another clip list, same clip: same key
    os.utime(wav, ns=(1, 1))  # same bytes, other mtime: a new cache key ...
    touched = WaveformCache([_clip(wav)], tmp_path / "cache", name="x", progress=False)
    assert (
        touched.dir != first.dir and touched.built and touched.clip_key("x_1/a") == key
    )  # ... and the same clip key
    index = touched.dir / "index.json"
    meta = json.loads(index.read_text())
    del meta["digests"]  # a cache built before clips were digested gets its digests on the next open
    index.write_text(json.dumps(meta))
    reopened = WaveformCache([_clip(wav)], tmp_path / "cache", name="x", progress=False)
    assert (
        not reopened.built
        and reopened.clip_key("x_1/a") == key
        and "digests" in json.loads(index.read_text())
    )
    sf.write(wav, 0.1 * np.sin(np.arange(8000) / 4).astype(np.float32), 16000)  # other audio, same length
    assert WaveformCache([_clip(wav)], tmp_path / "cache", name="x", progress=False).clip_key("x_1/a") != key


def test_bad_root_and_fold(tmp_path):
    from ser_zoo.errors import ConfigError, SerZooError

    with pytest.raises(SerZooError, match="data root not found"):
        SERDataModule(root=str(tmp_path / "nowhere")).setup("fit")
    with pytest.raises(ConfigError, match="unknown class set"):
        SERDataModule(classes="emotions5")


def test_balanced_epochs_draw_corpora_evenly_and_stay_resumable():
    from ser_zoo.data.sampling import EpochShuffle
    from ser_zoo.errors import ConfigError

    groups = ["crema_d"] * 90 + ["savee"] * 10
    plain = EpochShuffle(100, groups=groups)
    assert sorted(i for i, _ in plain) == list(range(100))  # balance 0: a permutation, as without groups
    assert list(plain) == list(EpochShuffle(100))
    even = EpochShuffle(100, groups=groups, balance=1.0)
    even.set_epoch(3)
    order = [i for i, epoch in even]
    assert len(order) == 100 and all(epoch == 3 for _, epoch in even)
    savee = [i for i in order if i >= 90]
    assert len(savee) == 50 and {savee.count(i) for i in range(90, 100)} == {5}  # five whole passes
    crema = [i for i in order if i < 90]
    assert len(crema) == 50 and len(set(crema)) == 50  # a subset, no repeats
    assert order == [i for i, _ in even]  # epoch 3 is the same order on every call (resume)
    even.set_epoch(4)
    assert {i for i, _ in even if i < 90} != set(crema)  # another subset next epoch
    half = EpochShuffle(100, groups=groups, balance=0.5)
    drawn = sum(i >= 90 for i, _ in half)
    assert drawn == 25  # sqrt(10) / (sqrt(90) + sqrt(10)) of 100
    with pytest.raises(ConfigError, match="data.balance_corpora=1.5"):
        SERDataModule(balance_corpora=1.5)


def test_balance_corpora_reaches_the_training_loader():
    class Listed(torch.utils.data.Dataset):  # the clip list is all the sampler reads; no audio needed
        def __init__(self, clips):
            self.clips = clips

        def __len__(self):
            return len(self.clips)

    sizes = {"crema_d": 70, "tess": 24, "savee": 6}
    clips = [Clip(f"{c}{i}.wav", c, f"{c}_a", "F", "happy") for c, n in sizes.items() for i in range(n)]
    dm = SERDataModule(balance_corpora=1.0, batch_size=4, num_workers=0)
    dm.datasets["train"] = Listed(clips)
    corpora = [clips[i].corpus for i, _ in dm.train_dataloader().sampler]
    assert sorted(corpora.count(c) for c in sizes) == [33, 33, 34]


def test_a_smoke_run_decodes_only_its_limited_clips_and_drops_an_unreadable_one(tmp_path):
    """``limit_clips`` takes each stage's subset from the split of every listed clip, decoding only those."""
    from test_own_data import make_tree

    tree = make_tree(tmp_path / "calls", speakers=("ann", "bob", "cy", "dee", "eve"), per=4)  # 60 clips
    (tree / "joy" / "bob" / "01.wav").write_bytes(b"RIFF but not audio")

    def stages(limit, cache):
        dm = SERDataModule(
            corpora=[str(tree)], protocol="speaker-kfold", folds=5, num_workers=0, limit_clips=limit,
            cache_dir=str(tmp_path / cache),
        )  # fmt: skip
        dm.prepare_data()
        dm.setup("fit")
        chosen = {s: [c.key for c in dm.stage_clips(s)] for s in ("train", "val", "test")}
        return chosen, sum(len(c) for c in dm.datasets["train"].cache.values())

    full, decoded = stages(None, "full")
    assert decoded == 59 == sum(map(len, full.values()))
    smoke, decoded = stages(3, "smoke")
    assert decoded == sum(map(len, smoke.values())) <= 9
    assert all(set(smoke[s]) <= set(full[s]) for s in full)  # the same speakers in each stage
    every, decoded = stages(1000, "every")  # a limit above every stage: the bad clip is chosen, then dropped
    assert every == full and decoded == 59


def test_a_test_or_validation_on_a_fresh_machine_decodes_only_its_stage(tmp_path):
    """``setup("test")`` with no cache built decodes the fold's test speakers only, and holds the clips a full
    run holds; once the corpora's caches exist it reads them; a later fit sets every stage up."""
    from test_own_data import make_tree

    tree = make_tree(tmp_path / "calls", speakers=("ann", "bob", "cy", "dee", "eve"), per=4)  # 60 clips
    (tree / "joy" / "bob" / "01.wav").write_bytes(b"RIFF but not audio")

    def module(cache, **kw):
        return SERDataModule(
            corpora=[str(tree)], protocol="speaker-kfold", folds=5, fold=1, num_workers=0,
            cache_dir=str(tmp_path / cache), **kw,
        )  # fmt: skip

    def decoded(dm):
        return sum(len(c) for c in dm.datasets["test"].cache.values())

    tested = module("fresh")
    tested.setup("test")
    test_keys = [c.key for c in tested.stage_clips("test")]
    assert decoded(tested) == len(test_keys) == 11 and not tested.stage_clips("train")  # bob, one unreadable
    whole = module("fresh")
    whole.setup("fit")  # every stage, decoded into the corpus's full cache
    assert [c.key for c in whole.stage_clips("test")] == test_keys and decoded(whole) == 59
    again = module("fresh")
    again.setup("validate")  # the full cache is there now: read, not rebuilt
    assert decoded(again) == 59 and not any(c.built for c in again.datasets["val"].cache.values())
    assert [c.key for c in again.stage_clips("val")] == [c.key for c in whole.stage_clips("val")]
    tested.setup("fit")  # the same module, asked for more than it set up
    assert len(tested.stage_clips("train")) == len(whole.stage_clips("train")) > 0
    clip_level = SERDataModule(
        corpora=[str(tree)], protocol="random-split", num_workers=0, cache_dir=str(tmp_path / "random")
    )
    clip_level.setup("test")  # a clip-level draw must see which clips are readable: the whole corpus
    assert decoded(clip_level) == 59


def test_stages_set_up_one_after_another_add_up(tmp_path):
    """``setup("validate")`` then ``setup("test")`` (what calibrate does) holds both stages."""
    from test_own_data import make_tree

    tree = make_tree(tmp_path / "calls", speakers=("ann", "bob", "cy", "dee", "eve"), per=2)
    dm = SERDataModule(
        corpora=[str(tree)], protocol="speaker-kfold", folds=5, num_workers=0, cache_dir=str(tmp_path / "c")
    )
    dm.setup("validate")
    val = [c.key for c in dm.stage_clips("val")]
    assert val and not dm.stage_clips("test")
    dm.setup("test")
    assert [c.key for c in dm.stage_clips("val")] == val and dm.stage_clips("test")
    assert not dm.stage_clips("train")
