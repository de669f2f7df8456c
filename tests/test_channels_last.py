"""``model.channels_last``: the net's weights and 4-d inputs in NHWC layout give the same logits, train, save,
and export to the zoo as plain weights that load back."""

import lightning as L
import torch

from ser_zoo.lit.module import SERModule
from ser_zoo.zoo import export_checkpoint, load_pretrained

SPEC = dict(
    model="timm/resnet18",
    model_kwargs={"backbone_kwargs": {"channels": [8, 8, 16, 16], "stem_width": 8}},
    frontend={"name": "logmel", "n_mels": 32},
    num_classes=3,
    class_names=["angry", "happy", "sad"],
    example_seconds=0.5,
)


def test_nhwc_gives_the_logits_of_nchw_and_survives_a_step_a_checkpoint_and_the_zoo(tmp_path):
    torch.manual_seed(0)
    nchw = SERModule(**SPEC).eval()
    nhwc = SERModule(**SPEC, channels_last=True).eval()
    nhwc.load_state_dict(nchw.state_dict())
    conv = next(m for m in nhwc.net.modules() if isinstance(m, torch.nn.Conv2d) and m.in_channels > 1)
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not conv.weight.is_contiguous()  # really NHWC (a 1-channel kernel would be both)
    wave = 0.1 * torch.randn(4, 8000)
    with torch.no_grad():
        torch.testing.assert_close(nhwc(wave), nchw(wave), atol=1e-4, rtol=1e-4)

    batch = {"audio": wave, "lengths": torch.full((4,), 8000), "label": torch.tensor([0, 1, 2, 0])}
    nhwc.train()
    loss = torch.nn.functional.cross_entropy(nhwc(wave), batch["label"])
    loss.backward()
    assert conv.weight.grad is not None and torch.isfinite(conv.weight.grad).all()

    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.strategy.connect(nhwc.eval())
    ckpt = tmp_path / "nhwc.ckpt"
    trainer.save_checkpoint(ckpt)
    weights = export_checkpoint(ckpt, "tiny_nhwc", tmp_path / "zoo", fp16=False)
    loaded = load_pretrained(str(weights)).eval()  # the zoo's weights are plain tensors, layout aside
    with torch.no_grad():
        torch.testing.assert_close(loaded(wave), nhwc(wave), atol=1e-4, rtol=1e-4)  # its BN stats moved
